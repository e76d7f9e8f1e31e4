import { createApp } from "../src/app.ts";
import { intervalTasks, mixedTasks, noopHandler, writeDataDir } from "./fixtures.ts";
import { benchConfig, median, nowMs, sleepUntil, tempDir } from "./lib.ts";
import { devNullLogger } from "./logger.ts";

// Sustained load on the full path (scheduler, runner, execution log, history counters):
// 1. `tasks` tasks due every second: process CPU per 1,000 firings, and runs lost;
// 2. as many runs as the runner completes back to back (runNow, `concurrency` in flight).

export interface SustainedArgs {
  tasks: number;
  seconds: number;
  concurrency: number;
  windows: number;
}

export interface SustainedResult {
  /** CPU ms (user + system) per 1,000 firings, one figure per measured second. */
  cpuPer1000: number[];
  fired: number;
  expected: number;
  lost: number;
  /** Completed runs per second, one figure per window. */
  runsPerSecond: number[];
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

export async function sustainedChild(a: SustainedArgs): Promise<SustainedResult> {
  const log = devNullLogger();
  const result: SustainedResult = {
    cpuPer1000: [],
    fired: 0,
    expected: 0,
    lost: 0,
    runsPerSecond: [],
  };

  // 1. Every second.
  {
    const dir = await tempDir();
    const counts = new Map<number, number>();
    await writeDataDir(dir.path, { tasks: intervalTasks(a.tasks, 1, Date.now()) });
    const app = await createApp({
      config: benchConfig(dir.path, 1),
      log,
      handlers: [noopHandler((due) => counts.set(due, (counts.get(due) ?? 0) + 1))],
    });
    await app.scheduler.start();
    // Two warm-up seconds, then `seconds` measured ones, each from mid-second to mid-second.
    const first = (Math.ceil(Date.now() / 1000) + 2) * 1000;
    await sleepUntil(first - 500);
    let cpu = cpuMs();
    for (let s = 0; s < a.seconds; s++) {
      await sleepUntil(first + s * 1000 + 500);
      const now = cpuMs();
      const fired = counts.get(first + s * 1000) ?? 0;
      result.cpuPer1000.push(fired ? (now - cpu) / (fired / 1000) : Number.NaN);
      cpu = now;
    }
    await sleepUntil(first + a.seconds * 1000 + 500);
    for (let s = 0; s < a.seconds; s++) result.fired += counts.get(first + s * 1000) ?? 0;
    result.expected = a.tasks * a.seconds;
    result.lost = result.expected - result.fired;
    await app.close(5_000);
    await dir.remove();
  }

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

export const summarize = (r: SustainedResult) => ({
  cpuPer1000: median(r.cpuPer1000),
  runsPerSecond: median(r.runsPerSecond),
});
