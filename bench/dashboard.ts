import { createApp } from "../src/app.ts";
import { RunContext } from "../src/engine/run-context.ts";
import { type Execution, runKey } from "../src/store/execution.ts";
import type { Task } from "../src/tasks/model.ts";
import { nextRunAfter } from "../src/time/runs.ts";
import { createDashboard, type Dashboard } from "../src/web/dashboard.ts";
import { PAGE_SIZE } from "../src/web/routes/server-routes.ts";
import { cronTasks, mixedTasks, noopHandler, writeDataDir } from "./fixtures.ts";
import {
  benchConfig,
  type Dist,
  dist,
  fileLog,
  inChild,
  nowMs,
  prng,
  sleepUntil,
  tempDir,
} from "./lib.ts";
import { writeLog } from "./lifecycle.ts";
import { devNullLogger } from "./logger.ts";
import { serverId } from "./servers.ts";

// The web dashboard (issue 15): how long its tasks page takes on a big log, what memory it adds,
// and whether serving it slows the scheduler. The dashboard is built as main.ts builds it
// (createDashboard on the app, headless: the operator logs in with the local link).

const DAY = 86_400_000;

// ---- data

export interface DataArgs {
  dir: string;
  /** Servers whose tasks the pages show, and tasks in each (ids task-0..). */
  servers: number;
  perServer: number;
  /** Lines in all; what the tasks' own runs leave is other servers' runs. 0: only theirs. */
  lines: number;
  spanDays: number;
}

export interface DataResult {
  /** Lines of the servers' own tasks, and of other servers'. */
  own: number;
  others: number;
  /** Wall time to write, split and open the log once. */
  ms: number;
}

/**
 * A data dir with `servers` × `perServer` tasks (the bench's mix of schedules), and a log of
 * their runs at their own schedules over the `spanDays` before now, interleaved in time order
 * with other servers' runs (2,000 tasks over 40 servers) up to `lines`. The log is written as
 * lifecycle.ts writes its big logs (one executions.jsonl, as an earlier version left it) and
 * opened once, which splits it into day files with each task's `prev` pointers and rebuilds the
 * history counters from it. No task is due within the hour after.
 */
export async function dataChild(a: DataArgs): Promise<DataResult> {
  const t0 = Date.now();
  const now = Date.now();
  const start = now - a.spanDays * DAY;
  const created = new Date(start - DAY).toISOString();
  const tasks: Task[] = mixedTasks(a.servers * a.perServer, now, 60 * 60_000).map((t, i) => ({
    ...t,
    guildId: serverId(Math.floor(i / a.perServer)),
    id: `task-${i % a.perServer}`,
    name: `Task ${i % a.perServer} of server ${Math.floor(i / a.perServer)}`,
    createdAt: created,
    updatedAt: created,
  }));
  await writeDataDir(a.dir, { tasks });
  // Every task's runs in the window, at its own schedule: [instant, task index] pairs.
  const runs: number[] = [];
  tasks.forEach((t, k) => {
    for (let at = nextRunAfter(t.schedule, t.timezone, start); at !== null && at < now; ) {
      runs.push(at, k);
      at = nextRunAfter(t.schedule, t.timezone, at);
    }
  });
  const order = Array.from({ length: runs.length / 2 }, (_, i) => i).sort(
    (x, y) => (runs[2 * x] as number) - (runs[2 * y] as number),
  );
  const own = order.length;
  const others = Math.max(0, a.lines - own);
  const rnd = prng(5);
  const entry = (guildId: string, taskId: string, scheduled: number): string => {
    const failed = rnd() < 0.05;
    const durationMs = Math.floor(rnd() * 200);
    const e: Execution = {
      ts: new Date(scheduled + Math.floor(rnd() * 20) + durationMs).toISOString(),
      guildId,
      taskId,
      runId: runKey(guildId, taskId, scheduled),
      scheduledFor: new Date(scheduled).toISOString(),
      attempt: 1,
      trigger: "schedule",
      status: failed ? "failure" : "success",
      durationMs,
      error: failed ? "upstream returned 503" : null,
    };
    return `${JSON.stringify(e)}\n`;
  };
  // Merged in time order: the next of the tasks' runs, or the next of the others' evenly spaced.
  let mine = 0;
  let theirs = 0;
  const theirAt = (j: number) => start + Math.floor(((j + 0.5) / others) * (now - start));
  await writeLog(a.dir, own + others, () => {
    const k = order[mine];
    const at = k === undefined ? Number.POSITIVE_INFINITY : (runs[2 * k] as number);
    if (theirs < others && theirAt(theirs) < at) {
      const j = theirs++;
      return entry(serverId(1000 + (j % 40)), `task-${Math.floor(j / 40) % 50}`, theirAt(j));
    }
    mine++;
    const t = tasks[runs[2 * (k as number) + 1] as number] as Task;
    return entry(t.guildId, t.id, at);
  });
  const app = await createApp({
    config: benchConfig(a.dir),
    log: devNullLogger(),
    handlers: [noopHandler()],
  });
  await app.executionLog.since(now); // the one-time split into day files
  await app.close();
  return { own, others, ms: Date.now() - t0 };
}

// ---- the dashboard on an app

async function openDashboard(app: Awaited<ReturnType<typeof createApp>>, dir: string) {
  const dashboard = await createDashboard({
    config: { DATA_DIR: dir, DASHBOARD_HOST: "127.0.0.1", DASHBOARD_PORT: 0, ADMIN_USER_IDS: [] },
    app,
    client: null,
    log: devNullLogger(),
  });
  // The operator's one-time local link, as `npm start` prints it: the session cookie.
  const link = new URL(dashboard.loginLink());
  const res = await dashboard.server.inject({ url: `${link.pathname}${link.search}` });
  const cookie = String(res.headers["set-cookie"]).split(";")[0] as string;
  if (res.statusCode !== 303 || !cookie.startsWith("mc_session=")) {
    throw new Error(`local login failed: ${res.statusCode}`);
  }
  return { dashboard, cookie };
}

async function get(d: Dashboard, cookie: string, url: string) {
  const res = await d.server.inject({ url, headers: { cookie } });
  if (res.statusCode !== 200) throw new Error(`GET ${url}: ${res.statusCode}`);
  return res.body;
}

// ---- the tasks page

export interface PageArgs {
  dir: string;
  perServer: number;
  warmUp: number;
  samples: number;
}

export interface PageResult {
  /** GET /s/<server>: inject() called → full response, ms. */
  tasksMs: number[];
  /** GET /s/<server>/tasks/<id>, a random task of the server. */
  taskMs: number[];
  /** Bytes of log read and of HTML sent per tasks page. */
  logBytes: number;
  htmlBytes: number;
  /** Attempts shown on the tasks page (the charts' bars). */
  attempts: number;
}

/**
 * In process, on the data of dataChild: the app started as the bot starts it (scheduler
 * running), the dashboard built on it, the operator logged in. Each sample: the clock starts
 * before `server.inject()` and stops when it resolves with the whole response.
 */
export async function pageChild(a: PageArgs): Promise<PageResult> {
  const app = await createApp({
    config: benchConfig(a.dir),
    log: devNullLogger(),
    handlers: [noopHandler()],
  });
  await app.scheduler.start();
  const { dashboard, cookie } = await openDashboard(app, a.dir);
  const server = `/s/${serverId(0)}`;
  // The first page lists the first PAGE_SIZE tasks.
  const last = `task-${Math.min(a.perServer, PAGE_SIZE) - 1}`;
  const rnd = prng(3);
  const taskUrl = () => `${server}/tasks/task-${Math.floor(rnd() * a.perServer)}`;
  let body = "";
  for (let i = 0; i < a.warmUp; i++) {
    body = await get(dashboard, cookie, server);
    await get(dashboard, cookie, taskUrl());
  }
  if (!body.includes(`>${last}<`)) throw new Error(`the tasks page does not list ${last}`);
  // The attempts the first page draws.
  const firstPage = app.service
    .overview(serverId(0))
    .slice(0, PAGE_SIZE)
    .map((r) => r.task.id);
  const recent = [...(await app.service.recentAttempts(serverId(0), firstPage, 20)).values()];
  const tasksMs: number[] = [];
  const taskMs: number[] = [];
  const before = fileLog(app).bytesRead;
  for (let i = 0; i < a.samples; i++) {
    const t = nowMs();
    await get(dashboard, cookie, server);
    tasksMs.push(nowMs() - t);
  }
  const logBytes = (fileLog(app).bytesRead - before) / a.samples;
  for (let i = 0; i < a.samples; i++) {
    const url = taskUrl();
    const t = nowMs();
    await get(dashboard, cookie, url);
    taskMs.push(nowMs() - t);
  }
  await dashboard.close();
  await app.close();
  return {
    tasksMs,
    taskMs,
    logBytes,
    htmlBytes: Buffer.byteLength(body),
    attempts: recent.reduce((n, r) => n + r.length, 0),
  };
}

// ---- memory

export interface RssArgs {
  dir: string;
  /** Build the dashboard and serve one tasks page and one task page. */
  dashboard: boolean;
}

export interface RssResult {
  rssMb: number;
  heapMb: number;
  tasks: number;
}

const mb = (bytes: number) => bytes / 2 ** 20;

/**
 * RSS of the app started on the data of dataChild, with or without the dashboard (created, the
 * operator logged in, a tasks page and a task page served), after two full GCs (--expose-gc)
 * and a pause: what stays, not the garbage of the moment.
 */
export async function rssChild(a: RssArgs): Promise<RssResult> {
  const app = await createApp({
    config: benchConfig(a.dir),
    log: devNullLogger(),
    handlers: [noopHandler()],
  });
  await app.scheduler.start();
  let keep: unknown = null;
  if (a.dashboard) {
    const { dashboard, cookie } = await openDashboard(app, a.dir);
    await get(dashboard, cookie, `/s/${serverId(0)}`);
    await get(dashboard, cookie, `/s/${serverId(0)}/tasks/task-0`);
    keep = dashboard;
  }
  const settle = async () => {
    global.gc?.();
    await new Promise((r) => setTimeout(r, 250));
    global.gc?.();
  };
  await settle();
  const mem = process.memoryUsage();
  void keep;
  return { rssMb: mb(mem.rss), heapMb: mb(mem.heapUsed), tasks: app.store.data.tasks.length };
}

// ---- fire lag with dashboard requests running

export interface LoadArgs {
  base: string;
  cookie: string;
  paths: string[];
  rps: number;
  /** Requests go out from now until `until` (epoch ms)... */
  until: number;
  /**
   * ...except, from `measuredFrom` on, in the second around each odd one (the instants
   * measuredFrom + 1 s, + 3 s, ...: their ±500 ms), which are the quiet rounds.
   */
  measuredFrom: number;
}

export interface LoadResult {
  sent: number;
  failed: number;
  /** Request sent → whole body received, ms, every request. */
  ms: number[];
}

/** True when the round due at `due` has requests around it. */
export const loadedRound = (due: number, measuredFrom: number) =>
  due < measuredFrom || Math.round((due - measuredFrom) / 1000) % 2 === 0;

/**
 * A browser's worth of requests, from a process of its own: `rps` requests a second, evenly
 * spaced, each sent on time whether or not the one before has answered (keep-alive, Node's
 * fetch), cycling through `paths`.
 */
export async function loadChild(a: LoadArgs): Promise<LoadResult> {
  const gap = 1000 / a.rps;
  const ms: number[] = [];
  let failed = 0;
  const inFlight: Promise<void>[] = [];
  let i = 0;
  for (let at = Date.now(); at < a.until; at += gap) {
    await sleepUntil(at);
    if (!loadedRound(Math.round(at / 1000) * 1000, a.measuredFrom)) continue;
    const path = a.paths[i++ % a.paths.length] as string;
    const t = nowMs();
    inFlight.push(
      fetch(`${a.base}${path}`, { headers: { cookie: a.cookie } })
        .then(async (res) => {
          await res.text();
          if (res.status !== 200) failed++;
          ms.push(nowMs() - t);
        })
        .catch(() => {
          failed++;
        }),
    );
  }
  await Promise.all(inFlight);
  return { sent: i, failed, ms };
}

export interface LoadLagArgs {
  /** The due tasks (cron `* * * * * *`), spread over servers of `perServer`. */
  tasks: number;
  perServer: number;
  /** Measured rounds of each kind, alternating: loaded, quiet, loaded, ... */
  rounds: number;
  /** Unmeasured seconds first, with requests. */
  warmUp: number;
  rps: number;
}

export interface LoadLagResult {
  loaded: { called: number[][]; claimed: number[][]; dropped: number };
  quiet: { called: number[][]; claimed: number[][]; dropped: number };
  requests: { sent: number; failed: number; ms: Dist };
}

/**
 * Fire lag as lag.ts measures ours (scheduled instant → handler called, and → run claimed), at
 * `tasks` due every second, with the dashboard listening on loopback. A second process sends it
 * `rps` requests a second (tasks pages and task pages of random servers) around every other
 * measured second; the seconds between are the comparison, in the same process and run.
 */
export async function loadLagChild(a: LoadLagArgs): Promise<LoadLagResult> {
  const dir = await tempDir();
  const servers = Math.ceil(a.tasks / a.perServer);
  const tasks = cronTasks(a.tasks, "* * * * * *", Date.now()).map((t, i) => ({
    ...t,
    guildId: serverId(Math.floor(i / a.perServer)),
    id: `task-${i % a.perServer}`,
  }));
  await writeDataDir(dir.path, { tasks });
  const samples = new Map<number, { called: number[]; claimed: number[] }>();
  let measuring = false;
  const app = await createApp({
    config: benchConfig(dir.path, 1),
    log: devNullLogger(),
    handlers: [
      noopHandler((due, ctx) => {
        if (!measuring) return;
        const at = nowMs();
        const round = samples.get(due);
        if (!round) return;
        round.called.push(Math.round((at - due) * 1000) / 1000);
        const claimedAt = ctx instanceof RunContext ? ctx.claimedAt : Number.NaN;
        round.claimed.push(Math.round((claimedAt - due) * 1000) / 1000);
      }),
    ],
  });
  await app.scheduler.start();
  const { dashboard, cookie } = await openDashboard(app, dir.path);
  await dashboard.listen();
  const rnd = prng(9);
  const paths = Array.from({ length: 200 }, (_, i) => {
    const server = `/s/${serverId(Math.floor(rnd() * servers))}`;
    return i % 2 ? `${server}/tasks/task-${Math.floor(rnd() * a.perServer)}` : server;
  });
  const first = (Math.ceil((Date.now() + 700) / 1000) + a.warmUp) * 1000;
  const last = first + (2 * a.rounds - 1) * 1000;
  for (let k = 0; k < 2 * a.rounds; k++) samples.set(first + k * 1000, { called: [], claimed: [] });
  const load = inChild<LoadResult>("dashboard-load", {
    base: dashboard.url,
    cookie,
    paths,
    rps: a.rps,
    until: last + 500,
    measuredFrom: first,
  } satisfies LoadArgs);
  measuring = true;
  await sleepUntil(last + 900);
  measuring = false;
  const requests = await load;
  await dashboard.close();
  await app.close(5_000);
  await dir.remove();
  const loaded = { called: [] as number[][], claimed: [] as number[][], dropped: 0 };
  const quiet = { called: [] as number[][], claimed: [] as number[][], dropped: 0 };
  for (const [due, r] of samples) {
    const side = loadedRound(due, first) ? loaded : quiet;
    side.called.push(r.called);
    side.claimed.push(r.claimed);
    side.dropped += Math.max(0, a.tasks - r.called.length);
  }
  if (requests.failed) throw new Error(`${requests.failed} dashboard requests failed`);
  return {
    loaded,
    quiet,
    requests: { sent: requests.sent, failed: requests.failed, ms: dist(requests.ms) },
  };
}
