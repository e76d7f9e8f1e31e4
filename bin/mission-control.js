#!/usr/bin/env node
// `npx mission-control <command>`: the CLI, the same as `npm run cli -- <command>` (TypeScript
// through tsx, so no build is needed).
import { register } from "tsx/esm/api";

register();
await import("../src/cli.ts");
