import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Proc, startMain } from "./support/process.ts";
import { tempDir } from "./support/world.ts";

let dir: Awaited<ReturnType<typeof tempDir>>;
const procs: Proc[] = [];
const start = (env: Record<string, string> = {}) => {
  const p = startMain(dir.path, { DATA_DIR: join(dir.path, "data"), ...env });
  procs.push(p);
  return p;
};
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  for (const p of procs.splice(0)) {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
    await p.exited;
  }
  await dir.remove();
});

describe("npm start (the process)", () => {
  it("runs headless without a token, refuses a second instance, and exits 0 on SIGTERM", async () => {
    const first = start();
    await first.waitFor(/headless mode/);
    const second = start();
    const { code } = await second.exited;
    expect(code).toBe(1);
    expect(second.output().trim()).toMatch(
      /^Mission Control is already running \(pid \d+\) on .*data; stop it first$/,
    );
    expect(second.output()).toContain(`pid ${first.child.pid}`);
    first.child.kill("SIGTERM");
    expect(await first.exited).toEqual({ code: 0, signal: null });
    // The lock went with it: a new start works.
    const third = start();
    await third.waitFor(/headless mode/);
  });

  it("stops on a bad setting with one line naming the variable", async () => {
    const p = start({ MIN_INTERVAL_SECONDS: "often" });
    expect((await p.exited).code).toBe(1);
    expect(p.output().trim().split("\n")).toEqual([
      "Invalid configuration: MIN_INTERVAL_SECONDS must be a whole number, e.g. MIN_INTERVAL_SECONDS=60",
    ]);
  });

  it("refuses a corrupt db.json and leaves it untouched", async () => {
    const ok = start();
    await ok.waitFor(/headless mode/);
    ok.child.kill("SIGTERM");
    await ok.exited;
    const file = join(dir.path, "data", "db.json");
    await writeFile(file, '{"schemaVersion":1,"tasks":[{"id"');
    const p = start();
    expect((await p.exited).code).toBe(1);
    expect(p.output()).toMatch(
      /db\.json cannot be read: it is not valid JSON .* It was left untouched\./,
    );
    expect(await readFile(file, "utf8")).toBe('{"schemaVersion":1,"tasks":[{"id"');
  });
});
