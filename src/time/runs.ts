import { Cron } from "croner";
import type { Schedule } from "./schedule.ts";
import { hhmm, offsetAt, placeWallClock, toWallClock, UTC_ZONES } from "./wall-clock.ts";

// When a schedule runs: pure functions of (schedule, zone, reference instant). Croner matches
// patterns against wall-clock time; wall-clock.ts places each match in the zone by the one
// daylight-saving rule, so every kind of schedule moves and flags a DST change the same way.

export const UNIT_MS = { seconds: 1_000, minutes: 60_000, hours: 3_600_000 } as const;

// Croner instances are kept in a small LRU (they cost memory), one per pattern: they work in
// wall-clock time, so the zone is not part of the key. A memo of the last few answers per
// (zone, pattern) — a pure function of the instant asked about — lets the thousands of tasks
// that share a pattern, scheduled from the same instant at start-up or due at the same
// instant, ask once.
const cronCache = new Map<string, Cron>();
const CRON_CACHE_LIMIT = 256;
const MEMO_SLOTS = 4;
/** Per key: [after0, next0, after1, next1, ...]; a next of NaN means "no more runs". */
const memoCache = new Map<string, { at: Float64Array; i: number }>();
const MEMO_CACHE_LIMIT = 20_000;

function cronFor(pattern: string): Cron {
  let cron = cronCache.get(pattern);
  if (cron) {
    cronCache.delete(pattern); // most recently used goes last
  } else {
    cron = dropYearTable(new Cron(pattern, { utcOffset: 0, paused: true }));
    if (cronCache.size >= CRON_CACHE_LIMIT) {
      const oldest = cronCache.keys().next().value;
      if (oldest !== undefined) cronCache.delete(oldest);
    }
  }
  cronCache.set(pattern, cron);
  return cron;
}

const NO_YEARS: number[] = [];

/**
 * Each Cron holds a 10,000-slot year table (~80 KB) even when the year is `*`, where croner
 * never reads it (every read checks `starYear` first). Kept alive in the cache, those tables
 * cost 25 times the memory of the rest of the Cron and more garbage collection than croner's
 * whole parse. Guarded: should croner's internals change, this changes nothing.
 */
function dropYearTable(cron: Cron): Cron {
  const pattern = (cron as unknown as { _states?: { pattern?: Record<string, unknown> } })._states
    ?.pattern;
  if (pattern?.starYear === true && Array.isArray(pattern.year)) pattern.year = NO_YEARS;
  return cron;
}

type Timed = Exclude<Schedule, { type: "interval" }>;

function cronPattern(s: Exclude<Timed, { type: "once" }>): string {
  switch (s.type) {
    case "daily":
      return `0 ${Number(s.time.slice(3))} ${Number(s.time.slice(0, 2))} * * *`;
    case "weekly":
      return `0 ${Number(s.time.slice(3))} ${Number(s.time.slice(0, 2))} * * ${s.days.join(",")}`;
    case "cron":
      return s.expression;
  }
}

const WEEK_MS = 7 * 86_400_000;
/** 1970-01-05, a Monday: weeks are counted from Mondays. */
const A_MONDAY = 4 * 86_400_000;

/** The first wall-clock time strictly after `fromNaive` that the schedule names, or null. */
function nextWallClock(s: Timed, fromNaive: number): number | null {
  if (s.type === "once") {
    const at = Date.parse(`${s.at}:00Z`);
    return at > fromNaive ? at : null;
  }
  const cron = cronFor(cronPattern(s));
  if (s.type !== "weekly" || !s.everyWeeks)
    return cron.nextRun(new Date(fromNaive))?.getTime() ?? null;
  // Every n-th week from the week of `from`, and never before `from` itself.
  const start = s.from ? Date.parse(`${s.from}T00:00:00Z`) : A_MONDAY;
  const firstWeek = Math.floor((start - A_MONDAY) / WEEK_MS);
  let ref = Math.max(fromNaive, start - 1);
  for (let i = 0; i < 7 * s.everyWeeks + 1; i++) {
    const at = cron.nextRun(new Date(ref))?.getTime();
    if (at === undefined) return null;
    const week = Math.floor((at - A_MONDAY) / WEEK_MS);
    if ((week - firstWeek) % s.everyWeeks === 0) return at;
    ref = at;
  }
  return null;
}

/** The first run strictly after `afterMs`: wall-clock matches placed by the DST rule. */
function zonedNext(s: Timed, zone: string, afterMs: number): number | null {
  let from = toWallClock(afterMs, zone);
  for (;;) {
    const naive = nextWallClock(s, from);
    if (naive === null) return null;
    const placed = placeWallClock(naive, zone);
    if (placed.at > afterMs) return placed.at;
    // A time that happens twice, and its first occurrence is past: it has run. Go on from the
    // end of the repeated stretch (each pass moves `from` forward, so this ends).
    from = Math.max(naive, (placed.repeatEnds ?? 0) - 1);
  }
}

function memoized(s: Timed, zone: string, afterMs: number): number | null {
  const weeks = s.type === "weekly" && s.everyWeeks ? `/${s.everyWeeks}w ${s.from ?? ""}` : "";
  const key = `${zone}\u0000${s.type === "once" ? s.at : cronPattern(s)}${weeks}`;
  let memo = memoCache.get(key);
  if (memo) {
    const at = memo.at;
    for (let j = 0; j < at.length; j += 2) {
      if (at[j] === afterMs) {
        const next = at[j + 1] as number;
        return Number.isNaN(next) ? null : next;
      }
    }
  } else {
    if (memoCache.size >= MEMO_CACHE_LIMIT) {
      const oldest = memoCache.keys().next().value;
      if (oldest !== undefined) memoCache.delete(oldest);
    }
    memo = { at: new Float64Array(MEMO_SLOTS * 2).fill(Number.NaN), i: 0 };
    memoCache.set(key, memo);
  }
  const next = zonedNext(s, zone, afterMs);
  memo.at[memo.i] = afterMs;
  memo.at[memo.i + 1] = next ?? Number.NaN;
  memo.i = (memo.i + 2) % (MEMO_SLOTS * 2);
  return next;
}

/** The first run strictly after `afterMs`, or null when the schedule has no more runs. */
export function nextRunAfter(s: Schedule, zone: string, afterMs: number): number | null {
  if (s.type === "interval") {
    // Aligned to the Unix epoch, so `every 30m` runs at :00 and :30 and restarts never drift.
    const step = s.every * UNIT_MS[s.unit];
    return (Math.floor(afterMs / step) + 1) * step;
  }
  return memoized(s, zone, afterMs);
}

export function nextRuns(s: Schedule, zone: string, afterMs: number, count: number): number[] {
  const runs: number[] = [];
  let ref = afterMs;
  while (runs.length < count) {
    const next = nextRunAfter(s, zone, ref);
    if (next === null) break;
    runs.push(next);
    ref = next;
  }
  return runs;
}

const LAST_RUN_STEPS = 100_000;

/** The latest run at or before `atMs` and after `sinceMs`, for catch-up after downtime. */
export function lastRunBetween(
  s: Schedule,
  zone: string,
  sinceMs: number,
  atMs: number,
): number | null {
  if (s.type === "interval") {
    // Arithmetic, not a walk: the same answer as the loop below, hard stop included.
    const step = s.every * UNIT_MS[s.unit];
    const first = (Math.floor(sinceMs / step) + 1) * step;
    if (first > atMs) return null;
    return Math.min(Math.floor(atMs / step) * step, first + (LAST_RUN_STEPS - 1) * step);
  }
  let last: number | null = null;
  let ref = sinceMs;
  // Bounded: the catch-up window divided by MIN_INTERVAL_SECONDS, with a hard stop.
  for (let i = 0; i < LAST_RUN_STEPS; i++) {
    const next = nextRunAfter(s, zone, ref);
    if (next === null || next > atMs) break;
    last = next;
    ref = next;
  }
  return last;
}

/**
 * Why a run is not at the wall-clock time its schedule names, when a daylight-saving change is
 * the reason: people should hear about it before 02:30 quietly becomes 03:00.
 */
export function dstNote(s: Schedule, zone: string, runMs: number): string | null {
  if (s.type === "interval" || UTC_ZONES.has(zone)) return null;
  const naive = toWallClock(runMs, zone);
  const before = offsetAt(runMs - 1000, zone);
  if (before < naive - runMs) {
    // The clocks jumped forward at this instant: was a time inside the gap moved here?
    const wanted = nextWallClock(s, runMs + before - 1);
    if (wanted !== null && wanted < naive) {
      return `moved from ${hhmm(wanted)} to ${hhmm(naive)} by a daylight-saving change`;
    }
    return null;
  }
  if (placeWallClock(naive, zone).kind === "twice") {
    return `${hhmm(naive)} happens twice that day (clocks go back); it runs once, at the first`;
  }
  return null;
}
