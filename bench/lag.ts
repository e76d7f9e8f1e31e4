import { Cron } from "croner";
import cron from "node-cron";
import { createApp } from "../src/app.ts";
import { RunContext } from "../src/engine/run-context.ts";
import { cronTasks, noopHandler, writeDataDir } from "./fixtures.ts";
import { benchConfig, nowMs, sleepUntil, tempDir } from "./lib.ts";
import { devNullLogger } from "./logger.ts";

// Fire lag: with N jobs all due at the same instant, every `period` seconds, how long after that
// instant each job's function is called. Every implementation runs the same cron pattern
// (`* * * * * *`), and every job's function does the same thing: note the time, then
// optionally spin for `workUs` microseconds (a handler's synchronous work).
//
// Ours is the full path: store, scheduler, runner (execution log and history counters written
// as in production), the function being a task handler. It gives two figures per run: when the
// run was claimed (marked running and stamped by the scheduler's fire loop) and when its handler
// was called. Peers have only the second: their callback is the job.

export type Impl = "ours" | "croner" | "node-cron" | "setTimeout";

export interface LagArgs {
  impl: Impl;
  sizes: number[];
  rounds: number;
  /**
   * Rounds run before the measured ones, unmeasured but kept: while V8 still optimizes (and
   * deoptimizes) the code a burst runs, the first bursts after start-up are several times slower.
   */
  warmUp: number;
  /** Seconds between rounds: every job is due at each multiple of this. */
  period: number;
  /** Synchronous busy work in each job's function, in microseconds. */
  workUs: number;
}

export interface LagResult {
  impl: Impl;
  n: number;
  workUs: number;
  /** Scheduled instant → function called: each round's samples (up to N), in ms. */
  rounds: number[][];
  /** The same, in the warm-up rounds. */
  warmUpRounds: number[][];
  /** Ours only: scheduled instant → run claimed and stamped, each round's samples, in ms. */
  dispatch: number[][];
  /** Runs due in a measured round whose function was never called. */
  dropped: number;
  setupMs: number;
}

interface Jobs {
  stop(): Promise<void>;
}

/** `claimedAt`: ours only, when the scheduler claimed the run. */
type Record = (scheduledFor: number, at: number, claimedAt?: number) => void;

function spin(us: number): void {
  if (us <= 0) return;
  const end = performance.now() + us / 1000;
  while (performance.now() < end) {
    // busy: a handler's synchronous work
  }
}

async function setup(
  impl: Impl,
  n: number,
  periodS: number,
  workUs: number,
  record: Record,
): Promise<Jobs> {
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
      await writeDataDir(dir.path, { tasks: cronTasks(n, pattern, Date.now()) });
      const app = await createApp({
        config: benchConfig(dir.path, 1),
        log: devNullLogger(),
        handlers: [
          noopHandler((due, ctx) => {
            record(due, nowMs(), ctx instanceof RunContext ? ctx.claimedAt : Number.NaN);
            spin(workUs);
          }),
        ],
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
        () =>
          new Cron(pattern, () => {
            const at = nowMs();
            record(dueBefore(at), at);
            spin(workUs);
          }),
      );
      return {
        async stop() {
          for (const j of jobs) j.stop();
        },
      };
    }
    case "node-cron": {
      const tasks = Array.from({ length: n }, () =>
        cron.schedule(pattern, (ctx) => {
          record(ctx.date.getTime(), nowMs());
          spin(workUs);
        }),
      );
      return {
        async stop() {
          for (const t of tasks) await t.destroy();
        },
      };
    }
    case "setTimeout": {
      // The floor: one timer per job at the instant, nothing to compute.
      let stopped = false;
      const timers = new Set<NodeJS.Timeout>();
      const chain = (due: number) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          record(due, nowMs());
          spin(workUs);
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

export async function lagChild({
  impl,
  sizes,
  rounds,
  warmUp,
  period,
  workUs,
}: LagArgs): Promise<LagResult[]> {
  const results: LagResult[] = [];
  const periodMs = period * 1000;
  for (const n of sizes) {
    const samples = new Map<number, { called: number[]; claimed: number[] }>();
    let measuring = false;
    const record: Record = (due, at, claimedAt) => {
      if (!measuring) return;
      const round = samples.get(due);
      if (!round) return;
      // To the microsecond: 50,000 samples a figure travel to the parent as JSON.
      round.called.push(Math.round((at - due) * 1000) / 1000);
      if (claimedAt !== undefined) round.claimed.push(Math.round((claimedAt - due) * 1000) / 1000);
    };
    const t0 = Date.now();
    const jobs = await setup(impl, n, period, workUs, record);
    const setupMs = Date.now() - t0;
    // `warmUp` rounds first, then `rounds` measured ones.
    const first = (Math.ceil((Date.now() + 700) / periodMs) + warmUp) * periodMs;
    for (let k = -warmUp; k < rounds; k++) {
      samples.set(first + k * periodMs, { called: [], claimed: [] });
    }
    measuring = true;
    // A run not started by the middle of the next period counts as dropped.
    await sleepUntil(first + (rounds - 1) * periodMs + Math.min(periodMs - 100, 900));
    measuring = false;
    await jobs.stop();
    const all = [...samples.values()];
    const perRound = all.slice(warmUp);
    results.push({
      impl,
      n,
      workUs,
      rounds: perRound.map((r) => r.called),
      warmUpRounds: all.slice(0, warmUp).map((r) => r.called),
      dispatch: impl === "ours" ? perRound.map((r) => r.claimed) : [],
      dropped: perRound.reduce((d, r) => d + Math.max(0, n - r.called.length), 0),
      setupMs,
    });
  }
  return results;
}
