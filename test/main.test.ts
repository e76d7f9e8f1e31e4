import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Execution } from "../src/store/execution.ts";
import { cli, freePort, type Proc, ROOT, startMain } from "./support/process.ts";
import { readLogLines, readOutputs, tempDir } from "./support/world.ts";

let dir: Awaited<ReturnType<typeof tempDir>>;
const procs: Proc[] = [];
const start = (env: Record<string, string> = {}) => {
  const p = startMain(dir.path, { DATA_DIR: join(dir.path, "data"), ...env });
  procs.push(p);
  return p;
};
/** CLI arguments that add a task that runs every second and takes `seconds` to finish. */
const slowTask = (id: string, seconds: number) => [
  "tasks",
  "add",
  id,
  "--handler",
  "test",
  "--schedule",
  "every 1s",
  "--option",
  `delaySeconds=${seconds}`,
  "--timeout",
  "900",
];

const executions = (data: string): Promise<Execution[]> => readLogLines(data);

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
    await first.waitFor(/running headless/);
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
    await third.waitFor(/running headless/);
  });

  it("creates the starter tasks on a fresh data dir, owned by ALERT_USER_ID", async () => {
    const p = start({ ALERT_USER_ID: "123456789012345678" });
    await p.waitFor(/weekly-review/);
    expect(p.output()).toContain("Created");
    expect(p.output()).toMatch(/daily-briefing\s+daily-briefing\s+daily 08:00\s+yes/);
    expect(p.output()).toMatch(/health-check\s+health-check\s+every 1h\s+no\s+—/);
    expect(p.output()).toMatch(/weekly-review\s+weekly-review\s+weekly fri 17:00\s+yes/);
    p.child.kill("SIGTERM");
    expect((await p.exited).code).toBe(0);
    const db = JSON.parse(await readFile(join(dir.path, "data", "db.json"), "utf8"));
    expect(db.tasks.map((t: { id: string; ownerId: string }) => [t.id, t.ownerId])).toEqual([
      ["daily-briefing", "123456789012345678"],
      ["health-check", "123456789012345678"],
      ["weekly-review", "123456789012345678"],
    ]);
    // A second start does not add them again.
    const again = start();
    await again.waitFor(/weekly-review/);
    expect(again.output()).not.toContain("Created");
  });

  it("takes CLI changes while running (control socket) and runs a short schedule for real", async () => {
    const data = join(dir.path, "data");
    const p = start({ MIN_INTERVAL_SECONDS: "1", LOG_LEVEL: "debug" });
    await p.waitFor(/weekly-review/);
    const env = { DATA_DIR: data, MIN_INTERVAL_SECONDS: "1" };
    const add = await cli(
      dir.path,
      env,
      "tasks",
      "add",
      "tick",
      "--handler",
      "test",
      "--schedule",
      "every 1s",
    );
    expect(add.stderr).toBe("");
    expect(add.stdout).toContain("Added tick: test, every second");
    const bad = await cli(
      dir.path,
      env,
      "tasks",
      "add",
      "tock",
      "--handler",
      "test",
      "--schedule",
      "daily 24:00",
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: schedule: "24:00" is not a time of day/);
    await p.waitFor(/task tick attempt 1: success[\s\S]*task tick attempt 1: success/, 20_000);
    expect((await cli(dir.path, env, "tasks", "disable", "tick")).code).toBe(0);
    const status = await cli(dir.path, env, "status");
    expect(status.stdout).toMatch(/tick\s+every 1s \(disabled\)\s+—\s+success/);
    // Through the running bot's socket too.
    const cleanup = await cli(dir.path, env, "cleanup", "--dry-run");
    expect(cleanup.stdout).toMatch(
      /^Nothing to remove from before \d{4}-\d\d-\d\d \d\d:\d\d UTC\./,
    );
    p.child.kill("SIGTERM");
    expect((await p.exited).code).toBe(0);
    expect((await readOutputs(data, "local", "tick")).length).toBeGreaterThanOrEqual(2);
    const log = await executions(data);
    expect(log.every((e) => e.trigger === "schedule" && e.status === "success")).toBe(true);
  });

  it("on SIGTERM lets a run in progress finish, records it, and exits 0", async () => {
    const data = join(dir.path, "data");
    const env = { DATA_DIR: data, MIN_INTERVAL_SECONDS: "1" };
    await cli(
      dir.path,
      env,
      "tasks",
      "add",
      "slow",
      "--handler",
      "test",
      "--schedule",
      "every 1s",
      "--option",
      "delaySeconds=2",
    );
    const p = start({ ...env, LOG_LEVEL: "debug" });
    await p.waitFor(/task slow attempt 1 started/);
    p.child.kill("SIGTERM");
    expect(await p.exited).toEqual({ code: 0, signal: null });
    const log = await executions(data);
    expect(log.at(-1)).toMatchObject({ taskId: "slow", status: "success" });
  });

  it("a second SIGTERM, seconds after the first, exits at once, without waiting for the run", async () => {
    const data = join(dir.path, "data");
    const env = { DATA_DIR: data, MIN_INTERVAL_SECONDS: "1" };
    await cli(
      dir.path,
      env,
      "tasks",
      "add",
      "stuck",
      "--handler",
      "test",
      "--schedule",
      "every 1s",
      "--option",
      "delaySeconds=600",
      "--timeout",
      "900",
    );
    const p = start({ ...env, LOG_LEVEL: "debug" });
    await p.waitFor(/task stuck attempt 1 started/);
    p.child.kill("SIGTERM");
    await p.waitFor(/shutting down/);
    // The same signal within 2 s is the same stop (npm passing on what the group got); a later
    // one is someone asking again.
    await new Promise((r) => setTimeout(r, 2_200));
    p.child.kill("SIGTERM");
    // Well inside the 10 s grace that a single signal would allow the run.
    const exited = await Promise.race([
      p.exited,
      new Promise((r) => setTimeout(() => r("still running"), 8_000)),
    ]);
    expect(exited).toEqual({ code: 0, signal: null });
  });

  it("npm start itself exits 0 on SIGTERM", async () => {
    const child = spawn("npm", ["start", "--silent"], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        DATA_DIR: join(dir.path, "npm-data"),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (c) => {
      out += c;
    });
    await vi.waitFor(() => expect(out).toContain("weekly-review"), {
      timeout: 15_000,
      interval: 100,
    });
    const exited = new Promise((resolve) =>
      child.on("exit", (code, signal) => resolve({ code, signal })),
    );
    child.kill("SIGTERM");
    expect(await exited).toEqual({ code: 0, signal: null });
  });

  it("Ctrl-C to npm start's whole process group is one stop: the run in progress finishes, exit 0, db.json folded", async () => {
    const data = join(dir.path, "group-data");
    const env = { DATA_DIR: data, MIN_INTERVAL_SECONDS: "1" };
    await cli(dir.path, env, ...slowTask("slow", 3));
    // In a process group of its own, as a terminal or systemd starts it: a signal to the group
    // reaches npm and node both, and npm passes its own on to node.
    const child = spawn("npm", ["start", "--silent"], {
      cwd: ROOT,
      detached: true,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        ...env,
        LOG_LEVEL: "debug",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (c) => {
      out += c;
    });
    const exited = new Promise((resolve) =>
      child.on("exit", (code, signal) => resolve({ code, signal })),
    );
    await vi.waitFor(() => expect(out).toMatch(/task slow attempt 1 started/), {
      timeout: 20_000,
      interval: 100,
    });
    process.kill(-(child.pid as number), "SIGINT");
    expect(await exited).toEqual({ code: 0, signal: null });
    const runs = await executions(data);
    expect(runs.map((e) => [e.taskId, e.status])).toContainEqual(["slow", "success"]);
    expect(await readOutputs(data, "local", "slow")).toHaveLength(1);
    // A clean stop leaves everything in db.json: the journal is empty.
    expect(await readFile(join(data, "db.journal"), "utf8").catch(() => "")).toBe("");
  }, 40_000);

  it("survives a handler that leaks an unhandled rejection; other tasks keep running", async () => {
    const data = join(dir.path, "data");
    const env = { DATA_DIR: data, MIN_INTERVAL_SECONDS: "1", LOG_LEVEL: "debug" };
    await cli(
      dir.path,
      env,
      "tasks",
      "add",
      "leaky",
      "--handler",
      "test",
      "--schedule",
      "every 1s",
      "--option",
      "leakRejection=true",
    );
    await cli(
      dir.path,
      env,
      "tasks",
      "add",
      "steady",
      "--handler",
      "test",
      "--schedule",
      "every 1s",
    );
    const p = start(env);
    await p.waitFor(/unhandled rejection \(ignored\)[\s\S]*unhandled rejection \(ignored\)/);
    await p.waitFor(/unhandled rejection[\s\S]*task steady attempt 1: success/);
    expect(p.child.exitCode).toBeNull();
    p.child.kill("SIGTERM");
    expect((await p.exited).code).toBe(0);
  });

  it("stops with a clear message when DATA_DIR cannot be used", async () => {
    const p = start({ DATA_DIR: "/dev/null/data" });
    expect((await p.exited).code).toBe(1);
    expect(p.output().trim()).toMatch(/^DATA_DIR \/dev\/null\/data cannot be created: ENOTDIR/);
  });

  it("after kill -9, a restart makes up the missed run once and never repeats a run", async () => {
    const data = join(dir.path, "data");
    const env = { DATA_DIR: data, MIN_INTERVAL_SECONDS: "1", LOG_LEVEL: "debug" };
    await cli(dir.path, env, "tasks", "add", "tick", "--handler", "test", "--schedule", "every 1s");
    const first = start(env);
    await first.waitFor(/task tick attempt 1: success[\s\S]*task tick attempt 1: success/);
    first.child.kill("SIGKILL");
    await first.exited;
    const beforeRestart = (await executions(data)).length;
    await new Promise((r) => setTimeout(r, 2_500)); // down for a few scheduled instants
    const second = start(env);
    await second.waitFor(
      /catching up a missed run[\s\S]*task tick attempt 1: success[\s\S]*task tick attempt 1: success/,
    );
    second.child.kill("SIGTERM");
    expect((await second.exited).code).toBe(0);
    const log = await executions(data);
    const firstAttempts = log.filter((e) => e.attempt === 1).map((e) => e.runId);
    expect(new Set(firstAttempts).size).toBe(firstAttempts.length);
    // The first start may make up an instant that passed between `tasks add` and it; the
    // restart makes up the downtime's instants as exactly one run.
    expect(log.slice(beforeRestart).filter((e) => e.trigger === "catch-up")).toHaveLength(1);
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
    await ok.waitFor(/running headless/);
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

describe("npm start: the dashboard", () => {
  it("prints a one-time login link that works once; the CLI makes new ones through the bot", async () => {
    const env = { DATA_DIR: join(dir.path, "data") };
    // Without the bot there is no dashboard to log in to.
    const alone = await cli(dir.path, env, "dashboard-link");
    expect(alone.code).not.toBe(0);
    expect(alone.stderr).toContain("The dashboard runs inside the bot");
    const port = await freePort();
    const p = start({ DASHBOARD_PORT: String(port) });
    await p.waitFor(/Dashboard: .* \(15 minutes\): \S+/);
    const [, url, link] =
      /Dashboard: (\S+) — log in with this one-time link \(15 minutes\): (\S+)/.exec(p.output()) ??
      [];
    expect(url).toBe(`http://127.0.0.1:${port}`);
    const first = await fetch(link as string, { redirect: "manual" });
    expect(first.status).toBe(303);
    const cookie = (first.headers.get("set-cookie") ?? "").split(";")[0] as string;
    expect(cookie).toMatch(/^mc_session=/);
    expect((await fetch(link as string, { redirect: "manual" })).status).toBe(401);
    const home = await fetch(`${url}/`, { headers: { cookie } });
    expect(await home.text()).toContain('href="/s/local"');
    expect(await (await fetch(`${url}/healthz`)).json()).toMatchObject({ ok: true });
    const fresh = await cli(dir.path, env, "dashboard-link");
    expect(fresh.code).toBe(0);
    expect(fresh.stdout.trim()).toMatch(new RegExp(`^${url}/login/local\\?token=\\S+$`));
    expect((await fetch(fresh.stdout.trim(), { redirect: "manual" })).status).toBe(303);
    // The token is not in the log.
    expect(p.output().match(/token=/g)).toHaveLength(1);
    p.child.kill("SIGTERM");
    expect((await p.exited).code).toBe(0);
  });
});
