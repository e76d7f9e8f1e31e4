import { Cron } from "croner";
import cron from "node-cron";
import { createApp } from "../src/app.ts";
import { intervalTasks, noopHandler, writeDataDir } from "./fixtures.ts";
import { benchConfig, nowMs, sleepUntil, tempDir } from "./lib.ts";
import { devNullLogger } from "./logger.ts";

// Fire lag: how long after the instant a run was due its handler starts, with N jobs all due
// in the same second. Ours is the full path (store, scheduler, runner, execution log, history);
// the peers are bare croner jobs, node-cron jobs and setTimeout chains doing nothing.

export type Impl = "ours" | "croner" | "node-cron" | "setTimeout";

export interface LagArgs {
  impl: Impl;
  sizes: number[];
  rounds: number;
  /** Seconds between rounds: every job is due at each multiple of this. */
  period: number;
}

export interface LagResult {
  impl: Impl;
  n: number;
  /** Each round's samples (up to N), in ms. */
  rounds: number[][];
  /** Runs due in a measured round whose handler never started. */
  dropped: number;
  setupMs: number;
}

interface Jobs {
  stop(): Promise<void>;
}

type Record = (scheduledFor: number, at: number) => void;

async function setup(impl: Impl, n: number, periodS: number, record: Record): Promise<Jobs> {
  const periodMs = periodS * 1000;
  const pattern = periodS === 1 ? "* * * * * *" : `*/${periodS} * * * * *`;
  // A cron job knows only that it fired: it was due at the boundary it fired just after.
  const dueBefore = (at: number) => {
    const b = Math.floor(at / periodMs) * periodMs;
    return at - b > periodMs - 100 ? b + periodMs : b; // a timer a hair early still counts
  };
  switch (impl) {
    case "ours": {
      const dir = await tempDir();
      await writeDataDir(dir.path, { tasks: intervalTasks(n, periodS, Date.now()) });
      const app = await createApp({
        config: benchConfig(dir.path, 1),
        log: devNullLogger(),
        handlers: [noopHandler((due) => record(due, nowMs()))],
      });
      await app.scheduler.start();
      return {
        async stop() {
          await app.close(5_000);
          await dir.remove();
        },
      };
    }
    case "croner": {
      const jobs = Array.from(
        { length: n },
        () => new Cron(pattern, () => record(dueBefore(nowMs()), nowMs())),
      );
      return {
        async stop() {
          for (const j of jobs) j.stop();
        },
      };
    }
    case "node-cron": {
      const tasks = Array.from({ length: n }, () =>
        cron.schedule(pattern, (ctx) => record(ctx.date.getTime(), nowMs())),
      );
      return {
        async stop() {
          for (const t of tasks) await t.destroy();
        },
      };
    }
    case "setTimeout": {
      let stopped = false;
      const timers = new Set<NodeJS.Timeout>();
      const chain = (due: number) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          record(due, nowMs());
          if (!stopped) chain(due + periodMs);
        }, due - Date.now());
        timers.add(timer);
      };
      const first = (Math.floor(Date.now() / periodMs) + 1) * periodMs;
      for (let i = 0; i < n; i++) chain(first);
      return {
        async stop() {
          stopped = true;
          for (const t of timers) clearTimeout(t);
        },
      };
    }
  }
}

export async function lagChild({ impl, sizes, rounds, period }: LagArgs): Promise<LagResult[]> {
  const results: LagResult[] = [];
  const periodMs = period * 1000;
  for (const n of sizes) {
    const samples = new Map<number, number[]>();
    let measuring = false;
    const record: Record = (due, at) => {
      if (measuring) samples.get(due)?.push(at - due);
    };
    const t0 = Date.now();
    const jobs = await setup(impl, n, period, record);
    const setupMs = Date.now() - t0;
    // At least one unmeasured round first (warm-up), then `rounds` measured ones.
    const first = (Math.ceil((Date.now() + 700) / periodMs) + 1) * periodMs;
    for (let k = 0; k < rounds; k++) samples.set(first + k * periodMs, []);
    measuring = true;
    // A run not started by the middle of the next period counts as dropped.
    await sleepUntil(first + (rounds - 1) * periodMs + Math.min(periodMs - 100, 900));
    measuring = false;
    await jobs.stop();
    const perRound = [...samples.values()];
    results.push({
      impl,
      n,
      rounds: perRound,
      dropped: perRound.reduce((d, s) => d + Math.max(0, n - s.length), 0),
      setupMs,
    });
  }
  return results;
}
