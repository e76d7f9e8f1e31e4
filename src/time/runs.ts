import { Cron } from "croner";
import type { Schedule } from "./schedule.ts";
import { hhmm, offsetAt, placeWallClock, toWallClock, UTC_ZONES } from "./wall-clock.ts";

// When a schedule runs: pure functions of (schedule, zone, reference instant). Croner matches
// patterns against wall-clock time (daily and weekly times, simple enough, by arithmetic that
// gives croner's answer); wall-clock.ts places each match in the zone by the one
// daylight-saving rule, so every kind of schedule moves and flags a DST change the same way.

export const UNIT_MS = { seconds: 1_000, minutes: 60_000, hours: 3_600_000 } as const;

// Croner instances are kept in an LRU (they cost memory), one per pattern: they work in
// wall-clock time, so the zone is not part of the key. A memo of the last few answers per
// (zone, pattern) — a pure function of the instant asked about — lets the thousands of tasks
// that share a pattern, scheduled from the same instant at start-up or due at the same
// instant, ask once.
const cronCache = new Map<string, { cron: Cron; cost: number }>();
/**
 * What the cache may hold, in lean Crons (year table dropped, below: ~3 KB each); one that
 * keeps its table (a year given, or croner's internals changed) costs as much as 32 lean ones.
 * Room for the patterns of a big deployment: one that cycles through more patterns than fit (a
 * start-up asks about each task in turn) builds a Cron per question instead of per pattern.
 */
const CRON_CACHE_BUDGET = 4096;
const FAT_CRON_COST = 32;
let cronCacheCost = 0;
const MEMO_SLOTS = 4;
/** Per (zone, pattern): [after0, next0, after1, next1, ...]; a next of NaN means "no more runs". */
interface Memo {
  at: Float64Array;
  i: number;
}
/**
 * zone -> kind of schedule -> its pattern's own text -> memo. Looked up with strings the
 * schedule already holds (all but weekly), not a key built per question: at start-up that is
 * asked once per task.
 */
const memoCache = new Map<string, Map<string, Memo>[]>();
const MEMO_KIND = { once: 0, daily: 1, weekly: 2, cron: 3 } as const;
const WEEKLY_DAYS = 4;
let memoCount = 0;
const MEMO_CACHE_LIMIT = 20_000;

function cronFor(pattern: string): Cron {
  const cached = cronCache.get(pattern);
  if (cached) {
    cronCache.delete(pattern); // most recently used goes last
    cronCache.set(pattern, cached);
    return cached.cron;
  }
  const cron = new Cron(pattern, { utcOffset: 0, paused: true });
  const cost = dropYearTable(cron) ? 1 : FAT_CRON_COST;
  for (const [oldest, { cost: freed }] of cronCache) {
    if (cronCacheCost + cost <= CRON_CACHE_BUDGET) break;
    cronCache.delete(oldest);
    cronCacheCost -= freed;
  }
  cronCache.set(pattern, { cron, cost });
  cronCacheCost += cost;
  return cron;
}

const NO_YEARS: number[] = [];

/**
 * Each Cron holds a 10,000-slot year table (~80 KB) even when the year is `*`, where croner
 * never reads it (every read checks `starYear` first). Kept alive in the cache, those tables
 * cost 25 times the memory of the rest of the Cron and more garbage collection than croner's
 * whole parse. Guarded: should croner's internals change, this changes nothing.
 */
function dropYearTable(cron: Cron): boolean {
  const pattern = (cron as unknown as { _states?: { pattern?: Record<string, unknown> } })._states
    ?.pattern;
  if (pattern?.starYear !== true || !Array.isArray(pattern.year)) return false;
  pattern.year = NO_YEARS;
  return true;
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

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
/** 1970-01-05, a Monday: weeks are counted from Mondays. */
const A_MONDAY = 4 * DAY_MS;
/** Croner's numbers for the days (Sunday 0); 1970-01-01, day 0, was a Thursday. */
const DAY_NUMBER: Readonly<Record<string, number>> = {
  sun: 0,
  mon: 1,
  tue: 2,
  wed: 3,
  thu: 4,
  fri: 5,
  sat: 6,
};
/**
 * Where daily and weekly patterns are matched by arithmetic: from 1970 to well before the
 * year 3000, after which croner has no more runs. Outside it, and for any time or day croner
 * would read differently or refuse, croner answers as before.
 */
const ARITHMETIC_UNTIL = Date.UTC(2999, 0, 1);

/** "HH:MM" as ms into the day, or -1 when it is not exactly that. */
function timeOfDay(time: string): number {
  if (time.length !== 5 || time.charCodeAt(2) !== 58 /* : */) return -1;
  const digit = (i: number) => {
    const c = time.charCodeAt(i) - 48;
    return c >= 0 && c <= 9 ? c : Number.NaN;
  };
  const h = digit(0) * 10 + digit(1);
  const m = digit(3) * 10 + digit(4);
  return h <= 23 && m <= 59 ? h * 3_600_000 + m * 60_000 : -1; // NaN fails both
}

/** The days as a bit per croner day number; 0 when one is not a day name as stored. */
function dayMask(days: readonly string[]): number {
  let mask = 0;
  for (const day of days) {
    const n = DAY_NUMBER[day];
    if (n === undefined || !Object.hasOwn(DAY_NUMBER, day)) return 0;
    mask |= 1 << n;
  }
  return mask;
}

/**
 * The first wall-clock time strictly after `fromNaive` that the pattern matches, or null.
 * Daily and weekly times are whole minutes, so that is the arithmetic below; it gives croner's
 * answer (the first whole second after `fromNaive` that matches), without a Cron per pattern
 * or croner's field-by-field search: at start-up every (zone, pattern) is asked once.
 */
function patternAfter(s: Exclude<Timed, { type: "once" }>, fromNaive: number): number | null {
  if (s.type !== "cron" && fromNaive >= 0 && fromNaive < ARITHMETIC_UNTIL) {
    const time = timeOfDay(s.time);
    const days = s.type === "weekly" ? dayMask(s.days) : 0x7f;
    if (time >= 0 && days) {
      let day = Math.floor(fromNaive / DAY_MS);
      if (day * DAY_MS + time <= fromNaive) day++;
      while (!(days & (1 << ((day + 4) % 7)))) day++;
      return day * DAY_MS + time;
    }
  }
  return cronFor(cronPattern(s)).nextRun(new Date(fromNaive))?.getTime() ?? null;
}

/** The first wall-clock time strictly after `fromNaive` that the schedule names, or null. */
function nextWallClock(s: Timed, fromNaive: number): number | null {
  if (s.type === "once") {
    const at = Date.parse(`${s.at}:00Z`);
    return at > fromNaive ? at : null;
  }
  if (s.type !== "weekly" || !s.everyWeeks) return patternAfter(s, fromNaive);
  // Every n-th week from the week of `from`, and never before `from` itself.
  const start = s.from ? Date.parse(`${s.from}T00:00:00Z`) : A_MONDAY;
  const firstWeek = Math.floor((start - A_MONDAY) / WEEK_MS);
  let ref = Math.max(fromNaive, start - 1);
  for (let i = 0; i < 7 * s.everyWeeks + 1; i++) {
    const at = patternAfter(s, ref);
    if (at === null) return null;
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

/** The schedule's memo in the zone, made (and the oldest zones' dropped) when there is none. */
function memoFor(s: Timed, zone: string): Memo {
  let kinds = memoCache.get(zone);
  // Weekly days read as patternAfter reads them (a bit each) when they are day names, to
  // spare joining the list: a key of their own kind, as the same text means other days there.
  const days = s.type === "weekly" && !s.everyWeeks ? dayMask(s.days) : 0;
  const kind = days ? WEEKLY_DAYS : MEMO_KIND[s.type];
  const key =
    s.type === "daily"
      ? s.time
      : s.type === "cron"
        ? s.expression
        : s.type === "once"
          ? s.at
          : days
            ? s.time + String.fromCharCode(days)
            : `${s.time} ${s.days.join(",")}${s.everyWeeks ? `/${s.everyWeeks}w ${s.from ?? ""}` : ""}`;
  let memo = kinds?.[kind]?.get(key);
  if (memo) return memo;
  // Full: the zones longest in the cache go, with every memo they hold.
  for (const [oldest, held] of memoCache) {
    if (memoCount < MEMO_CACHE_LIMIT) break;
    memoCache.delete(oldest);
    for (const memos of held) memoCount -= memos.size;
    if (held === kinds) kinds = undefined;
  }
  if (!kinds) {
    kinds = [new Map(), new Map(), new Map(), new Map(), new Map()];
    memoCache.set(zone, kinds);
  }
  memo = { at: new Float64Array(MEMO_SLOTS * 2).fill(Number.NaN), i: 0 };
  (kinds[kind] as Map<string, Memo>).set(key, memo);
  memoCount++;
  return memo;
}

function memoized(s: Timed, zone: string, afterMs: number): number | null {
  const memo = memoFor(s, zone);
  const at = memo.at;
  for (let j = 0; j < at.length; j += 2) {
    if (at[j] === afterMs) {
      const next = at[j + 1] as number;
      return Number.isNaN(next) ? null : next;
    }
  }
  const next = zonedNext(s, zone, afterMs);
  at[memo.i] = afterMs;
  at[memo.i + 1] = next ?? Number.NaN;
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
