import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./support/process.ts";

// The Dockerfile and the systemd unit cannot be run here (no Docker daemon, no systemd): their
// fields are held to what the bot needs instead.

/** A systemd unit's keys per section; a key given twice keeps every value. */
async function unit(path: string): Promise<Record<string, Record<string, string[]>>> {
  const sections: Record<string, Record<string, string[]>> = {};
  let current: Record<string, string[]> = {};
  for (const raw of (await readFile(path, "utf8")).split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = {};
      sections[section[1] as string] = current;
      continue;
    }
    const [key, ...value] = line.split("=");
    (current[key as string] ??= []).push(value.join("="));
  }
  return sections;
}

/** Each stage of a Dockerfile: its FROM line and its instructions. */
async function stages(path: string): Promise<{ from: string; lines: string[] }[]> {
  const text = (await readFile(path, "utf8")).replace(/\\\n\s*/g, " ");
  const out: { from: string; lines: string[] }[] = [];
  for (const line of text.split("\n").map((l) => l.trim())) {
    if (!line || line.startsWith("#")) continue;
    if (line.startsWith("FROM ")) out.push({ from: line, lines: [] });
    else out.at(-1)?.lines.push(line);
  }
  return out;
}

describe("running as a service", () => {
  it("the systemd unit runs the built bot as its own user, restarts it, and stops it gently", async () => {
    const u = await unit(join(ROOT, "deploy", "mission-control.service"));
    const s = u.Service ?? {};
    expect(s.ExecStart).toEqual(["/usr/bin/node dist/src/main.js"]);
    expect(s.ExecStartPre).toEqual(["/usr/bin/node scripts/build.mjs"]);
    expect(s.User?.[0]).toBeTruthy();
    expect(s.User?.[0]).not.toBe("root");
    expect(s.Restart).toEqual(["on-failure"]);
    expect(s.KillSignal).toEqual(["SIGTERM"]);
    // Longer than the 10 s the bot gives runs in progress, so systemd never kills it mid-save.
    expect(Number(s.TimeoutStopSec?.[0])).toBeGreaterThan(10);
    expect(s.EnvironmentFile?.[0]).toMatch(/^-.*\.env$/);
    expect(s.ReadWritePaths?.[0]).toContain("/data");
    expect(u.Install?.WantedBy).toEqual(["multi-user.target"]);
  });

  it("the Dockerfile builds, tests in a stage of its own, and runs as node with /data a volume", async () => {
    const all = await stages(join(ROOT, "Dockerfile"));
    expect(all.map((s) => s.from)).toEqual([
      "FROM node:20-bookworm-slim AS build",
      "FROM build AS test",
      "FROM node:20-bookworm-slim AS runtime",
    ]);
    const [build, test, runtime] = all;
    expect(build?.lines).toContain("RUN npm ci --no-audit --no-fund");
    expect(test?.lines).toEqual(["RUN npm test && npm run typecheck && npm run lint"]);
    const r = runtime?.lines ?? [];
    expect(r).toContain("USER node");
    expect(r).toContain('VOLUME ["/data"]');
    expect(r.find((l) => l.startsWith("ENV "))).toContain("DATA_DIR=/data");
    expect(r.at(-1)).toBe('CMD ["node", "dist/src/main.js"]');
    // The image never carries a token or a data folder from the machine that built it.
    const ignored = (await readFile(join(ROOT, ".dockerignore"), "utf8")).split("\n");
    expect(ignored).toEqual(expect.arrayContaining([".env", "data", "node_modules", "dist"]));
  });
});
