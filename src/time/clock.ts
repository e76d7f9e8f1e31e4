// Time as a dependency: the scheduler and runner never read Date.now() or setTimeout directly,
// so tests drive daily and weekly schedules with a fake clock instead of waiting.

export interface Clock {
  /** Wall-clock time (epoch ms): when things are due, and what the log says. It may step. */
  now(): number;
  /** Monotonic ms, from an arbitrary origin: durations and deadlines. It never goes back. */
  monotonic(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export type TimerHandle = { readonly __timer: unique symbol } | object;

// Node's timers overflow past 2^31-1 ms (~24.8 days) and then fire at once.
export const MAX_TIMER_MS = 2_147_483_647;

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS)),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Resolves after `ms` on the given clock, or rejects with the signal's reason when aborted. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clock.clearTimeout(handle);
      reject(signal?.reason);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

// Two instants remembered: a run's log line names both when it was due and when it ended.
const isoMs = [Number.NaN, Number.NaN];
const isoText = ["", ""];
let isoNext = 0;

/** `new Date(ms).toISOString()`, remembered for recent instants: runs due together share it. */
export function isoTime(ms: number): string {
  if (isoMs[0] === ms) return isoText[0] as string;
  if (isoMs[1] === ms) return isoText[1] as string;
  const text = new Date(ms).toISOString();
  isoMs[isoNext] = ms;
  isoText[isoNext] = text;
  isoNext ^= 1;
  return text;
}

/** A YYYY-MM-DD that names a day of the calendar: "2026-02-30" and "2026-13-01" do not. */
export function isRealDate(ymd: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(ymd)) return false;
  const ms = Date.parse(`${ymd}T00:00:00Z`);
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === ymd;
}
