import { Cron } from "croner";
import { z } from "zod";
import { ValidationError } from "../shared/errors.ts";
import { didYouMean } from "../shared/suggest.ts";
import { isRealDate } from "./clock.ts";
import { DAYS, type Day } from "./days.ts";
import { nextRuns, UNIT_MS } from "./runs.ts";
import { PhraseError, parseDayList, wordsToSchedule } from "./schedule-words.ts";

// Schedules in two forms: the text people type (`daily 09:00`) and the structured form that is
// stored, and the rules a schedule must meet. When it runs is runs.ts's.

const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;
const LOCAL_DATETIME = /^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d$/;

export const ScheduleSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("daily"), time: z.string().regex(TIME) }),
  z.object({
    type: z.literal("weekly"),
    days: z.array(z.enum(DAYS)).min(1),
    time: z.string().regex(TIME),
    /** Every 2nd (3rd, 4th) week, counted from the week of `from` (YYYY-MM-DD). */
    everyWeeks: z.number().int().min(2).max(4).optional(),
    from: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/)
      .optional(),
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
/** The words a schedule can start with, for "did you mean". */
const FIRST_WORDS = [
  "daily",
  "weekly",
  "every",
  "once",
  "cron",
  "hourly",
  "today",
  "tomorrow",
  "next",
];
const ANY_EXAMPLE =
  "`daily 09:00`, `weekly mon,fri 17:00`, `every 30m`, `once 2026-12-01 09:00` or `cron 0 9 * * 1-5`";

const fail = (problem: string, example: string): never => {
  throw new ValidationError("schedule", problem, example);
};

const UNIT_WORDS: Record<string, { unit: keyof typeof UNIT_MS; factor: number }> = {};
for (const [words, unit, factor] of [
  [["s", "sec", "secs", "second", "seconds"], "seconds", 1],
  [["m", "min", "mins", "minute", "minutes"], "minutes", 1],
  [["h", "hr", "hrs", "hour", "hours"], "hours", 1],
  [["d", "day", "days"], "hours", 24],
] as const) {
  for (const w of words) UNIT_WORDS[w] = { unit, factor };
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
  let days: Day[] = [];
  try {
    days = parseDayList(raw);
  } catch (err) {
    if (err instanceof PhraseError) fail(err.message, err.example);
    throw err;
  }
  if (!days.length) fail("weekly needs at least one day", EXAMPLES.weekly);
  return days;
}

/**
 * Text form -> structured form: plain words ("every weekday at 9am") or the compact grammar
 * ("weekly mon-fri 09:00"). Syntax only: a one-off relative to now ("tomorrow at 10:00") is
 * resolved first by `resolveRelative`; `checkSchedule` does what needs a clock.
 */
export function parseSchedule(input: string): Schedule {
  const text = input.trim().replace(/\s+/g, " ");
  if (!text) fail("is empty", ANY_EXAMPLE);
  if (text.length > 200) fail("is longer than 200 characters", ANY_EXAMPLE);
  try {
    const words = wordsToSchedule(text);
    if (words) return words;
  } catch (err) {
    if (err instanceof PhraseError) fail(err.message, err.example);
    throw err;
  }
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
        `"${head}" is not a schedule kind${didYouMean(head, FIRST_WORDS)}; write it in words (\`every weekday at 9am\`) or start with daily, weekly, every, once or cron`,
        ANY_EXAMPLE,
      );
  }
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
      return s.everyWeeks
        ? `every ${s.everyWeeks} weeks on ${dayList(s.days)} ${s.time}${s.from ? ` from ${s.from}` : ""}`
        : `weekly ${dayList(s.days)} ${s.time}`;
    case "interval":
      return `every ${s.every}${s.unit[0]}`;
    case "once":
      return `once ${s.at.replace("T", " ")}`;
    case "cron":
      return `cron ${s.expression}`;
  }
}

/** Whether a schedule's runs can fall within one minute, so their times need seconds. */
export function runsSecondsApart(s: Schedule): boolean {
  if (s.type === "interval") return s.unit === "seconds" && s.every % 60 !== 0;
  if (s.type !== "cron") return false;
  // Asked after every run: a stored schedule is one frozen object shared by its task's copies.
  let apart = secondsApart.get(s);
  if (apart === undefined) {
    const fields = s.expression.split(" ");
    apart = fields.length === 6 && fields[0] !== "0";
    secondsApart.set(s, apart);
  }
  return apart;
}
const secondsApart = new WeakMap<Schedule, boolean>();

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
