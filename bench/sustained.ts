import { createApp } from "../src/app.ts";
import { cronTasks, mixedTasks, noopHandler, writeDataDir } from "./fixtures.ts";
import { benchConfig, nowMs, sleepUntil, tempDir } from "./lib.ts";
import { devNullLogger } from "./logger.ts";

// Sustained load, headless (no Discord):
// 1. `tasks` tasks due every second (cron `* * * * * *`): process CPU per 1,000 firings, and
//    runs lost; once with a handler that returns nothing (nothing saved, no sink runs), once
//    with one that returns a line of markdown (the output file saved, then the log line and
//    the history counters: the full path);
// 2. as many runs as the runner completes back to back (runNow, `concurrency` in flight).

export interface SustainedArgs {
  tasks: number;
  seconds: number;
  /** Seconds before the measured ones (see measureEverySecond). */
  warmUp: number;
  concurrency: number;
  windows: number;
}

export interface EverySecond {
  /** CPU ms (user + system) per 1,000 firings, one figure per measured second. */
  cpuPer1000: number[];
  /** The same, in the warm-up seconds. */
  warmUpCpuPer1000: number[];
  fired: number;
  expected: number;
  lost: number;
}

export interface SustainedResult {
  /** The handler returns nothing: no output saved, no sink runs. */
  bare: EverySecond;
  /** The handler returns one line of markdown: saved to a file, then the log line and history. */
  output: EverySecond;
  /** Completed runs per second, one figure per window. */
  runsPerSecond: number[];
}

export const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** What each run's handler returns when it has something to say. */
export const oneLine = (taskId: string, due: number) =>
  `**${taskId}**: all good at ${new Date(due).toISOString().slice(11, 19)} UTC`;

/**
 * `tasks` tasks due every second, for `seconds` measured seconds after `warmUp` ones: the
 * process's CPU time from mid-second to mid-second, per 1,000 handler starts. The warm-up
 * seconds are measured too, apart: a process's first seconds cost more (V8 still optimizing,
 * each task's output file of the day made and opened). `counts` is what the handler fills:
 * handler starts per due instant.
 */
export async function measureEverySecond(
  tasks: number,
  seconds: number,
  counts: Map<number, number>,
  warmUp: number,
): Promise<EverySecond> {
  const out: EverySecond = {
    cpuPer1000: [],
    warmUpCpuPer1000: [],
    fired: 0,
    expected: tasks * seconds,
    lost: 0,
  };
  const first = (Math.ceil(Date.now() / 1000) + warmUp) * 1000;
  await sleepUntil(first - warmUp * 1000 - 500);
  let cpu = cpuMs();
  for (let s = -warmUp; s < seconds; s++) {
    await sleepUntil(first + s * 1000 + 500);
    const now = cpuMs();
    const fired = counts.get(first + s * 1000) ?? 0;
    const perThousand = fired ? (now - cpu) / (fired / 1000) : Number.NaN;
    if (s >= 0) out.cpuPer1000.push(perThousand);
    else if (fired) out.warmUpCpuPer1000.push(perThousand);
    cpu = now;
  }
  await sleepUntil(first + seconds * 1000 + 500);
  for (let s = 0; s < seconds; s++) out.fired += counts.get(first + s * 1000) ?? 0;
  out.lost = out.expected - out.fired;
  return out;
}

async function everySecond(a: SustainedArgs, output: boolean): Promise<EverySecond> {
  const dir = await tempDir();
  const counts = new Map<number, number>();
  await writeDataDir(dir.path, { tasks: cronTasks(a.tasks, "* * * * * *", Date.now()) });
  const app = await createApp({
    config: benchConfig(dir.path, 1),
    log: devNullLogger(),
    handlers: [
      noopHandler(
        (due) => counts.set(due, (counts.get(due) ?? 0) + 1),
        output ? (ctx) => oneLine(ctx.task.id, ctx.scheduledFor.getTime()) : undefined,
      ),
    ],
  });
  await app.scheduler.start();
  const result = await measureEverySecond(a.tasks, a.seconds, counts, a.warmUp);
  await app.close(5_000);
  await dir.remove();
  return result;
}

export async function sustainedChild(a: SustainedArgs): Promise<SustainedResult> {
  const log = devNullLogger();
  const result: SustainedResult = {
    bare: await everySecond(a, false),
    output: await everySecond(a, true),
    runsPerSecond: [],
  };

  // 2. Back to back.
  {
    const dir = await tempDir();
    await writeDataDir(dir.path, { tasks: mixedTasks(a.tasks, Date.now()) });
    const app = await createApp({
      config: benchConfig(dir.path),
      log,
      handlers: [noopHandler()],
    });
    await app.scheduler.start();
    const ids = app.store.data.tasks.map((t) => t.id);
    let done = 0;
    let stop = false;
    // Worker k runs tasks k, k + c, k + 2c, ... one at a time: never two runs of one task at once.
    const worker = async (k: number) => {
      for (let i = k; !stop; i = (i + a.concurrency) % ids.length) {
        const r = await app.service.runNow("local", ids[i] as string).catch(() => null);
        if (r?.status === "success") done++;
      }
    };
    const workers = Array.from({ length: a.concurrency }, (_, k) => worker(k));
    const t0 = nowMs();
    await sleepUntil(t0 + 500); // warm-up
    for (let w = 0; w < a.windows; w++) {
      const start = nowMs();
      const before = done;
      await sleepUntil(start + 1000);
      result.runsPerSecond.push(((done - before) * 1000) / (nowMs() - start));
    }
    stop = true;
    await Promise.all(workers);
    await app.close(5_000);
    await dir.remove();
  }
  return result;
}
