import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PgStore } from "../src/store/pg/pg-store.ts";
import { TaskSchema } from "../src/tasks/model.ts";
import { type FreshDatabase, freshDatabase, testPool, withClient } from "./support/postgres.ts";
import { killAll, type Proc, startMain } from "./support/process.ts";
import { until } from "./support/until.ts";
import { tempDir } from "./support/world.ts";

// Three bot processes on one database share the runs of 400 tasks: every run key is in the
// execution log once. One of them is killed with kill -9 in the middle of a run: that run is
// taken over by another within 30 s, nothing is lost or run twice, and the killed process,
// started again, rejoins and takes runs.

const TASKS = 400;
/** Far above a busy machine's event-loop delays: a timer later than this fires once (by design). */
const EVERY_SECONDS = 5;
const RUNS = 2_000;
const MINUTE = 60_000;

let db: FreshDatabase;
let dirs: Awaited<ReturnType<typeof tempDir>>[];
const procs: Proc[] = [];

const dataDir = (i: number) => join((dirs[i] as { path: string }).path, "data");
const start = (i: number, env: Record<string, string> = {}) => {
  const p = startMain((dirs[i] as { path: string }).path, {
    DATA_DIR: dataDir(i),
    DATABASE_URL: db.url,
    DEFAULT_TIMEZONE: "UTC",
    LOG_FORMAT: "json",
    ...env,
  });
  procs.push(p);
  return p;
};

const query = async <T extends pg.QueryResultRow>(sql: string) =>
  (await withClient(db.url, (c) => c.query<T>(sql))).rows;
const runsLogged = async () =>
  Number((await query<{ n: string }>("SELECT count(*) AS n FROM mc_executions"))[0]?.n);

/** Bytes under `dir`: a task's outputs of a day share one file, so a run adds bytes, not files. */
const bytesIn = async (dir: string) => {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  let bytes = 0;
  for (const e of entries) if (e.isFile()) bytes += (await stat(join(e.parentPath, e.name))).size;
  return bytes;
};

/** The run ids a process said it started, from its JSON log lines. */
const startedRuns = (p: Proc): string[] =>
  p
    .output()
    .split("\n")
    .filter((l) => l.includes("attempt 1 started"))
    .map((l) => (JSON.parse(l) as { runId: string }).runId);

beforeEach(async () => {
  db = await freshDatabase();
  dirs = [await tempDir(), await tempDir(), await tempDir()];
  const pool = testPool(db.url);
  const store = await PgStore.open({ pool, shownUrl: db.name });
  const now = new Date().toISOString();
  await store.update(() => {
    for (let i = 0; i < TASKS; i++) {
      store.putTask(
        TaskSchema.parse({
          guildId: "local",
          id: `t-${i}`,
          name: `t-${i}`,
          handler: "test",
          options: { delaySeconds: 1 },
          schedule: { type: "interval", every: EVERY_SECONDS, unit: "seconds" },
          timezone: "UTC",
          createdAt: now,
          updatedAt: now,
        }),
      );
    }
  });
  await store.close();
  await pool.end();
});
afterEach(async () => {
  await killAll(procs);
  for (const d of dirs) await d.remove();
  await db.drop();
});

describe("three bot processes on one database", () => {
  it("run each run key once; a process killed mid-run is taken over within 30 s and rejoins", async () => {
    // The victim's debug lines say which runs it starts: the test kills it in mid-run.
    const bots = [start(0), start(1, { LOG_LEVEL: "debug" }), start(2)];
    for (const b of bots) await b.waitFor(/t-399/, 60_000);
    await until(async () => (await runsLogged()) >= RUNS / 4, "the first runs", MINUTE, 100);

    // kill -9 the second process just after it starts a run (each run takes 0.5 s).
    const victim = bots[1] as Proc;
    const seen = startedRuns(victim).length;
    await until(
      async () => startedRuns(victim).length > seen,
      "a run started by the victim",
      MINUTE,
    );
    victim.child.kill("SIGKILL");
    const killedAt = Date.now();
    const cutOff = startedRuns(victim).at(-1) as string;
    await victim.exited;
    const loggedYet = async () =>
      (await query(`SELECT 1 FROM mc_executions WHERE run_id = '${cutOff}'`)).length > 0;
    expect(await loggedYet()).toBe(false);

    // Its run is taken over by another process, within 30 s.
    await until(loggedYet, "the takeover", 45_000, 100);
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).toBeLessThanOrEqual(30_000);

    // Started again, it rejoins: it takes runs of its own (their outputs land in its folder).
    const outputsBefore = await bytesIn(join(dataDir(1), "outputs"));
    const back = start(1);
    await back.waitFor(/t-399/, 60_000);
    await until(
      async () => (await bytesIn(join(dataDir(1), "outputs"))) > outputsBefore,
      "runs taken by the restarted process",
      MINUTE,
      100,
    );
    await until(async () => (await runsLogged()) >= RUNS, `${RUNS} runs`, 2 * MINUTE, 100);
    for (const p of [bots[0], bots[2], back] as Proc[]) p.child.kill("SIGTERM");
    for (const p of [bots[0], bots[2], back] as Proc[]) expect((await p.exited).code).toBe(0);

    // Every run key once: no run twice (a retry would be attempt 2, and none fails here).
    const twice = await query(
      "SELECT run_id FROM mc_executions GROUP BY run_id HAVING count(*) > 1",
    );
    expect(twice).toEqual([]);
    const statuses = await query<{ status: string; error: string | null; n: string }>(
      "SELECT status, error, count(*) AS n FROM mc_executions GROUP BY status, error",
    );
    // A taken-over run that meets its task's next run on one process is skipped, and logged once.
    for (const s of statuses) {
      if (s.status !== "success")
        expect(s).toMatchObject({
          status: "skipped",
          error: "the previous run was still in progress",
        });
    }
    // None lost: each task's runs are every 5 s, without a gap, from its first to its last.
    const gaps = await query<{ task_id: string; gap: string }>(`
      SELECT task_id, gap FROM (
        SELECT task_id, scheduled_for - lag(scheduled_for) OVER (PARTITION BY task_id ORDER BY scheduled_for) AS gap
        FROM mc_executions
      ) g WHERE gap IS NOT NULL AND gap <> interval '${EVERY_SECONDS} seconds'`);
    expect(gaps).toEqual([]);
    const perTask = await query<{ n: string }>(
      "SELECT count(*) AS n FROM mc_executions GROUP BY task_id",
    );
    expect(perTask).toHaveLength(TASKS);
  }, 300_000);
});
