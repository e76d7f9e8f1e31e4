import { existsSync } from "node:fs";
import { DEFAULT_HANDLERS_DIR, runCli } from "./cli/program.ts";

// `npm run cli -- <command>` (or `node --import tsx src/cli.ts <command>`).

if (existsSync(".env")) process.loadEnvFile(".env");
const code = await runCli(process.argv.slice(2), {
  env: process.env,
  out: (text) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`),
  handlersDir: DEFAULT_HANDLERS_DIR,
});
process.exitCode = code;
