import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FreshDatabase, freshDatabase, withClient } from "./support/postgres.ts";
import { cli, killAll, type Proc, runScript, startMain } from "./support/process.ts";
import { readLogLines, tempDir } from "./support/world.ts";

// `npm start` with DATABASE_URL: the store is PostgreSQL's. Commands from another process
// (another machine's CLI: its own DATA_DIR, the same database) reach the running bot.

let db: FreshDatabase;
let dirs: Awaited<ReturnType<typeof tempDir>>[];
const procs: Proc[] = [];

const start = (dataDir: string, env: Record<string, string> = {}) => {
  const p = startMain(dataDir, {
    DATA_DIR: join(dataDir, "data"),
    DATABASE_URL: db.url,
    DEFAULT_TIMEZONE: "UTC",
    MIN_INTERVAL_SECONDS: "1",
    ...env,
  });
  procs.push(p);
  return p;
};

/** The execution log is a table of the database, with DATABASE_URL. */
const tickRuns = async () =>
  Number(
    (
      await withClient(db.url, (c) =>
        c.query("SELECT count(*) AS n FROM mc_executions WHERE task_id = 'tick'"),
      )
    ).rows[0]?.n,
  );

beforeEach(async () => {
  db = await freshDatabase();
  dirs = [await tempDir(), await tempDir()];
});
afterEach(async () => {
  await killAll(procs);
  for (const d of dirs) await d.remove();
  await db.drop();
});

describe("npm start with DATABASE_URL", () => {
  it("keeps its tasks in PostgreSQL; another process's CLI changes reach the bot; a second bot shares the runs", async () => {
    const [here, there] = dirs.map((d) => d.path) as [string, string];
    const bot = start(here);
    await bot.waitFor(/weekly-review/, 30_000);
    expect(bot.output()).toContain("Created");
    // Another machine: its own data folder, the same database. Its CLI opens the store itself.
    const env = { DATA_DIR: join(there, "data"), DATABASE_URL: db.url, MIN_INTERVAL_SECONDS: "1" };
    const add = await cli(
      there,
      env,
      "tasks",
      "add",
      "tick",
      "--handler",
      "test",
      "--schedule",
      "every 1s",
    );
    expect(add.code, add.stderr).toBe(0);
    // The bot heard of it and runs it.
    const deadline = Date.now() + 15_000;
    let ticks = 0;
    while (ticks < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      ticks = await tickRuns();
    }
    expect(ticks).toBeGreaterThanOrEqual(2);
    // A second bot on the same database joins: the two share the runs, each run once.
    const second = start(there);
    await second.waitFor(/tick/, 30_000);
    expect(second.output()).not.toContain("Created");
    const before = ticks;
    while (ticks < before + 4 && Date.now() < deadline + 30_000) {
      await new Promise((r) => setTimeout(r, 200));
      ticks = await tickRuns();
    }
    expect(ticks).toBeGreaterThanOrEqual(before + 4);
    const twice = await withClient(db.url, (c) =>
      c.query(
        "SELECT run_id FROM mc_executions WHERE task_id = 'tick' GROUP BY run_id HAVING count(*) > 1",
      ),
    );
    expect(twice.rows).toEqual([]);
    // "Run now" from a third machine's CLI (no bot beside it) is handed to a bot, which runs it
    // and posts it.
    const third = { ...env, DATA_DIR: join(there, "cli-only") };
    const report = ["tasks", "add", "report", "--handler", "test", "--schedule", "daily 09:00"];
    expect((await cli(there, third, ...report)).code).toBe(0);
    const byBot = await cli(there, third, "run", "report");
    expect(byBot.code, byBot.stderr).toBe(0);
    expect(byBot.stdout).toMatch(
      /report: success after 1 attempt in \d+ ms, run by a Mission Control bot/,
    );
    const manual = await withClient(db.url, (c) =>
      c.query(
        "SELECT count(*)::int AS n FROM mc_executions WHERE task_id = 'report' AND trigger = 'manual'",
      ),
    );
    expect(manual.rows[0]?.n).toBe(1);
    // Nothing of it in the bot's data folder: the log is shared by every process.
    expect(await readLogLines(join(here, "data"))).toEqual([]);
    bot.child.kill("SIGTERM");
    expect((await bot.exited).code).toBe(0);
    second.child.kill("SIGTERM");
    expect((await second.exited).code).toBe(0);
    // With no bot running, the CLI runs it itself, as beside a stopped bot.
    const alone = await cli(there, third, "run", "report");
    expect(alone.code, alone.stderr).toBe(0);
    expect(alone.stdout).toContain("**report** ran (manual, attempt 1).");
    expect(alone.stdout).not.toContain("run by a Mission Control bot");
    // Restarted elsewhere: the tasks are in the database, not in the data folder.
    const again = start(there);
    await again.waitFor(/tick/, 30_000);
    expect(again.output()).not.toContain("Created");
    again.child.kill("SIGTERM");
    expect((await again.exited).code).toBe(0);
  });
});

describe("npm run migrate", () => {
  it("copies everything to PostgreSQL and back, checks it, and is safe to run twice", async () => {
    const [here, there] = dirs.map((d) => d.path) as [string, string];
    const fileEnv = { DATA_DIR: join(here, "data"), DEFAULT_TIMEZONE: "UTC" };
    for (const args of [
      [
        "tasks",
        "add",
        "standup",
        "--handler",
        "message",
        "--schedule",
        "every weekday at 9:30",
        "--message",
        "Stand-up",
      ],
      [
        "--server",
        "123456789012345678",
        "tasks",
        "add",
        "backup",
        "--handler",
        "test",
        "--schedule",
        "daily 02:00",
      ],
      ["goals", "add", "Ship the dashboard"],
      ["reminders", "add", "Renew the domain", "--due", "2026-12-24"],
    ]) {
      const r = await cli(here, fileEnv, ...args);
      expect(r.code, r.stderr).toBe(0);
    }
    const toPg = await runScript(
      "migrate.ts",
      here,
      { ...fileEnv, DATABASE_URL: db.url },
      "--to",
      "postgres",
    );
    expect(toPg.code, toPg.stderr).toBe(0);
    expect(toPg.stdout).toMatch(/tasks\s+2 copied, 2 there now/);
    expect(toPg.stdout).toMatch(/goals\s+1 copied, 1 there now/);
    expect(toPg.stdout).not.toContain(new URL(db.url).password || "\u0000");
    const twice = await runScript(
      "migrate.ts",
      here,
      { ...fileEnv, DATABASE_URL: db.url },
      "--to",
      "postgres",
    );
    expect(twice.stdout).toMatch(/tasks\s+2 copied, 2 there now/);
    // Read through the database from another folder, then copied back into a fresh one.
    const pgEnv = { DATA_DIR: join(there, "data"), DATABASE_URL: db.url };
    const listed = await cli(there, pgEnv, "--server", "123456789012345678", "tasks", "list");
    expect(listed.stdout).toContain("backup");
    const back = await runScript("migrate.ts", there, pgEnv, "--to", "file");
    expect(back.code, back.stderr).toBe(0);
    const fromFile = await cli(there, { DATA_DIR: join(there, "data") }, "reminders", "list");
    expect(fromFile.stdout).toContain("Renew the domain");
    // Nothing to copy is said, not done.
    const empty = await runScript(
      "migrate.ts",
      there,
      { DATA_DIR: join(there, "empty"), DATABASE_URL: db.url },
      "--to",
      "postgres",
    );
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain("held no Mission Control data");
  });
});
