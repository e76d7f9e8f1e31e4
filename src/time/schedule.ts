import { Cron } from "croner";
import { z } from "zod";
import { ValidationError } from "../shared/errors.ts";
import { zonedParts } from "./timezone.ts";

// Schedules in two forms: the text people type (`daily 09:00`) and the structured form that is
// stored. Every "when does it run" question is a pure function of (schedule, zone, reference).

export const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Day = (typeof DAYS)[number];

const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;
const LOCAL_DATETIME = /^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d$/;

export const ScheduleSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("daily"), time: z.string().regex(TIME) }),
  z.object({
    type: z.literal("weekly"),
    days: z.array(z.enum(DAYS)).min(1),
    time: z.string().regex(TIME),
  }),
  z.object({
    type: z.literal("interval"),
    every: z.number().int().min(1),
    unit: z.enum(["seconds", "minutes", "hours"]),
  }),
  z.object({ type: z.literal("once"), at: z.string().regex(LOCAL_DATETIME) }),
  z.object({ type: z.literal("cron"), expression: z.string().min(1).max(200) }),
]);
export type Schedule = z.infer<typeof ScheduleSchema>;

const EXAMPLES = {
  daily: "`daily 09:00`",
  weekly: "`weekly mon,fri 17:00`",
  interval: "`every 30m`, `every 2h` or `every 45s`",
  once: "`once 2026-12-01 09:00`",
  cron: "`cron 0 9 * * 1-5` (minute hour day-of-month month day-of-week)",
} as const;
const ANY_EXAMPLE =
  "`daily 09:00`, `weekly mon,fri 17:00`, `every 30m`, `once 2026-12-01 09:00` or `cron 0 9 * * 1-5`";

const fail = (problem: string, example: string): never => {
  throw new ValidationError("schedule", problem, example);
};

const UNIT_MS = { seconds: 1_000, minutes: 60_000, hours: 3_600_000 } as const;
const UNIT_WORDS: Record<string, { unit: keyof typeof UNIT_MS; factor: number }> = {};
for (const [words, unit, factor] of [
  [["s", "sec", "secs", "second", "seconds"], "seconds", 1],
  [["m", "min", "mins", "minute", "minutes"], "minutes", 1],
  [["h", "hr", "hrs", "hour", "hours"], "hours", 1],
  [["d", "day", "days"], "hours", 24],
] as const) {
  for (const w of words) UNIT_WORDS[w] = { unit, factor };
}

const DAY_WORDS: Record<string, Day> = {};
for (const [i, d] of DAYS.entries()) {
  DAY_WORDS[d] = d;
  DAY_WORDS[
    ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"][i] as string
  ] = d;
}

function parseTime(raw: string | undefined, kind: "daily" | "weekly"): string {
  const m = /^(\d{1,2}):(\d{2})$/.exec(raw ?? "");
  const time = m ? `${m[1]?.padStart(2, "0")}:${m[2]}` : "";
  if (!TIME.test(time)) {
    fail(
      raw
        ? `"${raw}" is not a time of day; use 24-hour HH:MM, hours 00-23 and minutes 00-59`
        : `${kind} needs a time of day (HH:MM, 24-hour)`,
      EXAMPLES[kind],
    );
  }
  return time;
}

function parseDays(raw: string): Day[] {
  const days = new Set<Day>();
  for (const part of raw.split(",").filter(Boolean)) {
    const [from, to, ...rest] = part.split("-");
    const a = DAY_WORDS[from ?? ""];
    const b = to === undefined ? a : DAY_WORDS[to];
    if (!a || !b || rest.length) {
      fail(
        `"${part}" is not a day; use mon, tue, wed, thu, fri, sat, sun, separated by commas or as a range like mon-fri`,
        EXAMPLES.weekly,
      );
    }
    for (let i = DAYS.indexOf(a as Day); ; i = (i + 1) % 7) {
      days.add(DAYS[i] as Day);
      if (DAYS[i] === b) break;
    }
  }
  if (!days.size) fail("weekly needs at least one day", EXAMPLES.weekly);
  return DAYS.filter((d) => days.has(d));
}

/** Text form -> structured form. Syntax only: use `checkSchedule` for what needs a clock. */
export function parseSchedule(input: string): Schedule {
  const text = input.trim().replace(/\s+/g, " ");
  if (!text) fail("is empty", ANY_EXAMPLE);
  if (text.length > 200) fail("is longer than 200 characters", ANY_EXAMPLE);
  const [head = "", ...rest] = text.split(" ");
  const kind = head.toLowerCase();
  const args = rest.map((a) => a.toLowerCase());

  switch (kind) {
    case "daily":
      if (args.length !== 1) fail("daily takes one time of day", EXAMPLES.daily);
      return { type: "daily", time: parseTime(args[0], "daily") };
    case "weekly": {
      if (args.length !== 2) fail("weekly takes days then a time", EXAMPLES.weekly);
      return { type: "weekly", days: parseDays(args[0] ?? ""), time: parseTime(args[1], "weekly") };
    }
    case "every": {
      const m = /^(\d{1,7}) ?([a-z]+)$/.exec(args.join(" "));
      const unit = m ? UNIT_WORDS[m[2] ?? ""] : undefined;
      if (!m || !unit) {
        return fail(
          `"${rest.join(" ")}" is not an interval; write a number and a unit (s, m, h)`,
          EXAMPLES.interval,
        );
      }
      const every = Number(m[1]) * unit.factor;
      if (every < 1) fail("the interval must be at least 1", EXAMPLES.interval);
      return { type: "interval", every, unit: unit.unit };
    }
    case "once": {
      const joined = rest.join("T");
      const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{1,2}):(\d{2})$/.exec(joined);
      const at = m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]?.padStart(2, "0")}:${m[5]}` : "";
      if (!LOCAL_DATETIME.test(at) || !isRealDate(at.slice(0, 10))) {
        fail(
          `"${rest.join(" ")}" is not a date and time; write YYYY-MM-DD HH:MM (24-hour, in the task's time zone)`,
          EXAMPLES.once,
        );
      }
      return { type: "once", at };
    }
    case "cron":
      return cronSchedule(rest.join(" "));
    default:
      if (/^[\d*?LW#/,\-a-z]+( [\d*?LW#/,\-a-z]+){4,5}$/i.test(text)) return cronSchedule(text);
      return fail(
        `"${head}" is not a schedule kind; use daily, weekly, every, once or cron`,
        ANY_EXAMPLE,
      );
  }
}

function isRealDate(ymd: string): boolean {
  const d = new Date(`${ymd}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === ymd;
}

function cronSchedule(expression: string): Schedule {
  const fields = expression.split(" ").filter(Boolean);
  if (fields.length < 5 || fields.length > 6) {
    fail(`a cron expression has 5 or 6 fields, got ${fields.length}`, EXAMPLES.cron);
  }
  try {
    new Cron(expression, { paused: true });
  } catch (err) {
    const reason = String((err as Error).message).replace(/^CronPattern: /, "");
    fail(`"${expression}" is not a valid cron expression (${reason})`, EXAMPLES.cron);
  }
  return { type: "cron", expression: fields.join(" ") };
}

/** "mon,tue,wed,thu,fri,sun" -> "mon-fri,sun": three or more days in a row become a range. */
function dayList(days: readonly Day[]): string {
  const parts: string[] = [];
  const idx = days.map((d) => DAYS.indexOf(d)).sort((a, b) => a - b);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && (idx[j + 1] as number) === (idx[j] as number) + 1) j++;
    const run = idx.slice(i, j + 1).map((n) => DAYS[n] as Day);
    parts.push(run.length >= 3 ? `${run[0]}-${run.at(-1)}` : run.join(","));
    i = j + 1;
  }
  return parts.join(",");
}

/** Structured form -> the text a user would type to get it back. */
export function formatSchedule(s: Schedule): string {
  switch (s.type) {
    case "daily":
      return `daily ${s.time}`;
    case "weekly":
      return `weekly ${dayList(s.days)} ${s.time}`;
    case "interval":
      return `every ${s.every}${s.unit[0]}`;
    case "once":
      return `once ${s.at.replace("T", " ")}`;
    case "cron":
      return `cron ${s.expression}`;
  }
}

// Croner takes ~30 µs per nextRun in a time zone, so answers are cached per (zone, pattern): a
// small LRU of Cron instances bounds the memory whatever the number of distinct patterns, and a
// memo of the last few answers per pattern (a pure function of the instant asked about) lets
// the thousands of tasks that share a pattern, scheduled from the same instant at start-up or
// due at the same instant, ask croner once.
const cronCache = new Map<string, Cron>();
const CRON_CACHE_LIMIT = 256;
const MEMO_SLOTS = 4;
/** Per key: [after0, next0, after1, next1, ...]; a next of NaN means "no more runs". */
const memoCache = new Map<string, { at: Float64Array; i: number }>();
const MEMO_CACHE_LIMIT = 20_000;

function cronFor(key: string, pattern: string, zone: string): Cron {
  let cron = cronCache.get(key);
  if (cron) {
    cronCache.delete(key); // most recently used goes last
  } else {
    // UTC as a fixed offset: the same answers, without a time-zone conversion per step (8 µs a
    // nextRun instead of 67 here).
    const where = UTC_ZONES.has(zone) ? { utcOffset: 0 } : { timezone: zone };
    cron = dropYearTable(new Cron(pattern, { ...where, paused: true }));
    if (cronCache.size >= CRON_CACHE_LIMIT) {
      const oldest = cronCache.keys().next().value;
      if (oldest !== undefined) cronCache.delete(oldest);
    }
  }
  cronCache.set(key, cron);
  return cron;
}

const UTC_ZONES = new Set(["UTC", "Etc/UTC", "Etc/Universal", "Etc/Zulu", "Universal", "Zulu"]);
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

function cronNextRun(pattern: string, zone: string, afterMs: number): number | null {
  const key = `${zone}\u0000${pattern}`;
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
  const next = cronFor(key, pattern, zone).nextRun(new Date(afterMs))?.getTime() ?? null;
  memo.at[memo.i] = afterMs;
  memo.at[memo.i + 1] = next ?? Number.NaN;
  memo.i = (memo.i + 2) % (MEMO_SLOTS * 2);
  return next;
}

function cronPattern(s: Exclude<Schedule, { type: "interval" }>): string {
  switch (s.type) {
    case "daily":
      return `0 ${Number(s.time.slice(3))} ${Number(s.time.slice(0, 2))} * * *`;
    case "weekly":
      return `0 ${Number(s.time.slice(3))} ${Number(s.time.slice(0, 2))} * * ${s.days.join(",")}`;
    case "once":
      return `${s.at}:00`;
    case "cron":
      return s.expression;
  }
}

/** The first run strictly after `afterMs`, or null when the schedule has no more runs. */
export function nextRunAfter(s: Schedule, zone: string, afterMs: number): number | null {
  if (s.type === "interval") {
    // Aligned to the Unix epoch, so `every 30m` runs at :00 and :30 and restarts never drift.
    const step = s.every * UNIT_MS[s.unit];
    return (Math.floor(afterMs / step) + 1) * step;
  }
  return cronNextRun(cronPattern(s), zone, afterMs);
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

/** Rules that need the clock and config: future `once`, minimum interval. */
export function checkSchedule(
  s: Schedule,
  zone: string,
  { now, minIntervalSeconds }: { now: number; minIntervalSeconds: number },
): void {
  const minMs = minIntervalSeconds * 1000;
  if (s.type === "interval") {
    if (s.every * UNIT_MS[s.unit] < minMs) {
      fail(
        `runs every ${s.every} ${s.unit}, more often than the minimum of ${minIntervalSeconds}s (MIN_INTERVAL_SECONDS)`,
        `\`every ${Math.ceil(minIntervalSeconds / 60)}m\``,
      );
    }
    return;
  }
  const upcoming = nextRuns(s, zone, now, 12);
  if (s.type === "once" && upcoming.length === 0) {
    fail(
      `${s.at.replace("T", " ")} in ${zone} is in the past`,
      "a future date such as `once 2026-12-01 09:00`",
    );
  }
  if (upcoming.length === 0) fail("never runs", ANY_EXAMPLE);
  for (let i = 1; i < upcoming.length; i++) {
    const gap = (upcoming[i] as number) - (upcoming[i - 1] as number);
    if (gap < minMs) {
      fail(
        `runs ${gap / 1000}s apart, more often than the minimum of ${minIntervalSeconds}s (MIN_INTERVAL_SECONDS)`,
        EXAMPLES.cron,
      );
    }
  }
}

/**
 * A note when a DST change moves a fixed-time run off its wall-clock time (a skipped hour) —
 * people should hear about it before 02:30 quietly becomes 03:30.
 */
export function dstNote(s: Schedule, zone: string, runMs: number): string | null {
  const wanted =
    s.type === "daily" || s.type === "weekly" ? s.time : s.type === "once" ? s.at.slice(11) : null;
  if (!wanted) return null;
  const actual = zonedParts(runMs, zone).time;
  return actual === wanted ? null : `moved from ${wanted} to ${actual} by a daylight-saving change`;
}
