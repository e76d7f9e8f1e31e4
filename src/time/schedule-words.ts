import cronstrue from "cronstrue";
import { didYouMean } from "../shared/suggest.ts";
import { isRealDate } from "./clock.ts";
import { DAYS, type Day } from "./days.ts";
import { addDays } from "./relative.ts";
import type { Schedule } from "./schedule.ts";
import { zonedParts } from "./timezone.ts";

// Schedules in plain words: "every weekday at 9am", "first monday of the month at 10:00",
// "tomorrow at 10:00". Each phrase becomes the structured form (a croner pattern underneath
// when no simpler kind fits); `describeSchedule` reads any schedule back in words.

const TIME = String.raw`(?:\d{1,2}(?::\d{2})?\s?(?:am|pm)|\d{1,2}:\d{2}|noon|midnight)`;
const TIMES = String.raw`${TIME}(?:\s?(?:,|and|&)\s?${TIME})*`;
const DAY_NAME =
  "(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day)?s?|weekdays?|weekends?|wednesdays?|saturdays?";
const DAY_LIST = String.raw`(?:${DAY_NAME})(?:\s?(?:,|and|&|-|to|through)\s?(?:${DAY_NAME}))*`;
const AT = String.raw`(?:\s(?:at|@))?\s`;
const ORDINALS: Record<string, string> = {
  first: "1",
  "1st": "1",
  second: "2",
  "2nd": "2",
  third: "3",
  "3rd": "3",
  fourth: "4",
  "4th": "4",
  fifth: "5",
  "5th": "5",
  last: "L",
};
const ORDINAL = Object.keys(ORDINALS).join("|");
const OF_MONTH = String.raw`\s(?:of|in)\s(?:the|each|every)\smonth`;

const FULL_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

/** A problem with a phrase the grammar recognised: what is wrong and how to write it. */
export class PhraseError extends Error {
  constructor(
    message: string,
    readonly example: string,
  ) {
    super(message);
  }
}

/** "9am", "9:30 pm", "17:00", "noon" → "HH:MM", or a PhraseError. */
export function parseTimeWords(raw: string): string {
  const t = raw.trim();
  if (t === "noon") return "12:00";
  if (t === "midnight") return "00:00";
  const m = /^(\d{1,2})(?::(\d{2}))?\s?(am|pm)?$/.exec(t);
  let hour = Number(m?.[1]);
  const minute = Number(m?.[2] ?? 0);
  const half = m?.[3];
  const valid =
    m !== null &&
    minute < 60 &&
    (half ? hour >= 1 && hour <= 12 : hour <= 23 && m[2] !== undefined);
  if (!valid) {
    throw new PhraseError(
      `"${raw}" is not a time of day; write 9am, 5:30pm or 17:30 (24-hour: hours 00-23, minutes 00-59)`,
      "`daily 09:00` or `every day at 9am`",
    );
  }
  if (half === "am" && hour === 12) hour = 0;
  if (half === "pm" && hour !== 12) hour += 12;
  return `${String(hour).padStart(2, "0")}:${String(minute).padStart(2, "0")}`;
}

function parseTimes(raw: string): string[] {
  const times = raw
    .split(/\s?(?:,|\band\b|&)\s?/)
    .filter(Boolean)
    .map(parseTimeWords);
  return [...new Set(times)].sort();
}

/** Every way of writing a day: mon, monday, tues, thurs… (a plural "s" is taken off first). */
const DAY_FORMS: Record<string, Day[]> = {
  weekday: ["mon", "tue", "wed", "thu", "fri"],
  weekend: ["sat", "sun"],
  tues: ["tue"],
  thur: ["thu"],
  thurs: ["thu"],
};
for (const [i, d] of DAYS.entries()) {
  DAY_FORMS[d] = [d];
  DAY_FORMS[FULL_DAYS[i] as string] = [d];
}

function dayOf(word: string): Day[] {
  const days = DAY_FORMS[word] ?? DAY_FORMS[word.replace(/s$/, "")];
  if (!days) {
    throw new PhraseError(
      `"${word}" is not a day${didYouMean(word, Object.keys(DAY_FORMS))}; use mon, tue, wed, thu, fri, sat, sun, separated by commas or as a range like mon-fri`,
      "`weekly mon,fri 17:00`",
    );
  }
  return days;
}

/** "mon-fri", "monday and friday", "tue to thu, sat" → the days, in week order. */
export function parseDayList(raw: string): Day[] {
  const days = new Set<Day>();
  const parts = raw.split(/\s?(?:,|\band\b|&)\s?/).filter(Boolean);
  for (const part of parts) {
    const range = part.split(/\s?(?:-|\bto\b|\bthrough\b)\s?/).filter(Boolean);
    if (range.length === 2) {
      const [from] = dayOf(range[0] as string);
      const [to] = dayOf(range[1] as string);
      for (let i = DAYS.indexOf(from as Day); ; i = (i + 1) % 7) {
        days.add(DAYS[i] as Day);
        if (DAYS[i] === to) break;
      }
    } else for (const d of dayOf(part)) days.add(d);
  }
  return DAYS.filter((d) => days.has(d));
}

/** Several times of day in one schedule: one cron pattern, so they must share their minute. */
function atTimes(times: string[], dayField: string, domField = "*"): Schedule {
  const minutes = new Set(times.map((t) => t.slice(3)));
  if (minutes.size > 1) {
    throw new PhraseError(
      `${times.join(" and ")} cannot share one schedule: several times of day must have the same minutes (08:00 and 17:00 can; 08:15 and 17:45 cannot) — add a task for each`,
      "`daily 08:00,17:00`",
    );
  }
  const hours = times.map((t) => Number(t.slice(0, 2))).join(",");
  return {
    type: "cron",
    expression: `${Number([...minutes][0])} ${hours} ${domField} * ${dayField}`,
  };
}

const DAY_NUMBERS: Record<Day, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

/** Days as a cron day-of-week field, runs of three or more as ranges: "1-5", "1,3,5". */
function dayField(days: readonly Day[]): string {
  const n = days.map((d) => DAY_NUMBERS[d]).sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < n.length; ) {
    let j = i;
    while (j + 1 < n.length && (n[j + 1] as number) === (n[j] as number) + 1) j++;
    parts.push(j - i >= 2 ? `${n[i]}-${n[j]}` : n.slice(i, j + 1).join(","));
    i = j + 1;
  }
  return parts.join(",");
}

/** A phrase's pattern and what it makes of a match. */
type Rule<T, C = undefined> = [RegExp, (m: RegExpExecArray, ctx: C) => T | null];

function firstMatch<T, C>(rules: Rule<T, C>[], text: string, ctx: C): T | null {
  for (const [pattern, make] of rules) {
    const m = pattern.exec(text);
    if (m) return make(m, ctx);
  }
  return null;
}

const g = (m: RegExpExecArray, i: number) => m[i] as string;

const NTH_WEEK: Record<string, number> = {
  other: 2,
  "2nd": 2,
  second: 2,
  "3rd": 3,
  third: 3,
  "4th": 4,
  fourth: 4,
};
const EVERY_NTH_WEEK = new RegExp(
  String.raw`^every (?:(${Object.keys(NTH_WEEK).join("|")})(?: weeks? on)? (${DAY_LIST})|([2-4]) weeks(?: on)? (${DAY_LIST}))${AT}(${TIME}),?(?: ?(?:from|starting) (\d{4}-\d{2}-\d{2}))?$`,
);

const RECURRING: Rule<Schedule>[] = [
  [
    EVERY_NTH_WEEK,
    (m) => {
      const from = m[6];
      if (from !== undefined && !isRealDate(from))
        throw new PhraseError(
          `"${from}" is not a date; write YYYY-MM-DD`,
          "`every 2nd tuesday at 10:00 from 2026-12-01`",
        );
      return {
        type: "weekly",
        days: parseDayList(m[2] ?? g(m, 4)),
        time: parseTimeWords(g(m, 5)),
        everyWeeks: m[1] ? (NTH_WEEK[m[1]] as number) : Number(m[3]),
        ...(from ? { from } : {}),
      };
    },
  ],
  [/^hourly$/, () => ({ type: "interval", every: 1, unit: "hours" })],
  [
    /^(?:every|each) (second|minute|hour)$/,
    (m) => ({ type: "interval", every: 1, unit: `${g(m, 1)}s` as "seconds" | "minutes" | "hours" }),
  ],
  [
    new RegExp(`^(?:daily|every day|each day)${AT}(${TIMES})$`),
    (m) => {
      const times = parseTimes(g(m, 1));
      return times.length === 1 ? { type: "daily", time: times[0] as string } : atTimes(times, "*");
    },
  ],
  [
    new RegExp(`^(?:every|each|on|weekly(?: on)?) (${DAY_LIST})${AT}(${TIMES})$`),
    (m) => {
      const days = parseDayList(g(m, 1));
      const times = parseTimes(g(m, 2));
      if (times.length > 1) return atTimes(times, dayField(days));
      const time = times[0] as string;
      return days.length === 7 ? { type: "daily", time } : { type: "weekly", days, time };
    },
  ],
  [
    new RegExp(`^(?:(?:on|every) )?(?:the )?(${ORDINAL}) (${DAY_NAME})${OF_MONTH}${AT}(${TIME})$`),
    (m) => {
      const n = ORDINALS[g(m, 1)] as string;
      const days = dayOf(g(m, 2));
      if (days.length !== 1) {
        throw new PhraseError(
          `"${g(m, 2)}" is not one day of the week`,
          "`first monday of the month at 10:00`",
        );
      }
      const dow = DAY_NUMBERS[days[0] as Day];
      return atTimes([parseTimeWords(g(m, 3))], n === "L" ? `${dow}L` : `${dow}#${n}`);
    },
  ],
  [
    new RegExp(`^(?:(?:on|every) )?(?:the )?(first|last) day${OF_MONTH}${AT}(${TIME})$`),
    (m) => atTimes([parseTimeWords(g(m, 2))], "*", g(m, 1) === "last" ? "L" : "1"),
  ],
  [
    new RegExp(
      String.raw`^(?:(?:on|every) )?(?:the )?(\d{1,2})(?:st|nd|rd|th)(?:${OF_MONTH})?${AT}(${TIMES})$`,
    ),
    (m) => {
      const day = Number(g(m, 1));
      if (day < 1 || day > 31)
        throw new PhraseError(`there is no day ${day} in a month`, "`on the 15th at 10:00`");
      return atTimes(parseTimes(g(m, 2)), "*", String(day));
    },
  ],
  [
    new RegExp(String.raw`^(?:once )?(?:on )?(\d{4}-\d{2}-\d{2}),?${AT}(${TIME})$`),
    (m) => {
      const day = g(m, 1);
      if (!isRealDate(day))
        throw new PhraseError(`"${day}" is not a date; write YYYY-MM-DD`, "`2026-12-24 18:00`");
      return { type: "once", at: `${day}T${parseTimeWords(g(m, 2))}` };
    },
  ],
];

/**
 * A recurring phrase, or an absolute date and time, as a schedule; null when the text is not
 * one (the compact grammar, `daily 09:00`, has its own parser). Throws PhraseError for a phrase
 * it recognises with a part it cannot use.
 */
export function wordsToSchedule(input: string): Schedule | null {
  return firstMatch(RECURRING, normalize(input), undefined);
}

interface Now {
  now: number;
  zone: string;
  /** Today in the zone, YYYY-MM-DD. */
  today: string;
}

const RELATIVE: Rule<string, Now>[] = [
  // "every 2nd tuesday" counts its weeks from this one, unless it says from when.
  [EVERY_NTH_WEEK, (m, { today }) => (m[6] ? null : `${m.input} from ${today}`)],
  [
    new RegExp(`^(today|tonight|tomorrow)${AT}(${TIME})$`),
    (m, { today }) =>
      `once ${g(m, 1) === "tomorrow" ? addDays(today, 1) : today} ${parseTimeWords(g(m, 2))}`,
  ],
  [
    /^in (\d{1,4}) ?(minutes?|mins?|m|hours?|hrs?|h|days?|d)$/,
    (m, { now, zone }) => {
      const unit = g(m, 2)[0] as "m" | "h" | "d";
      const ms = Number(g(m, 1)) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[unit];
      // Whole minutes: a once schedule is to the minute, and never earlier than asked.
      const p = zonedParts(Math.ceil((now + ms) / 60_000) * 60_000, zone);
      return `once ${p.date} ${p.time}`;
    },
  ],
  [
    new RegExp(`^(next|this|on) (${DAY_NAME})${AT}(${TIME})$`),
    (m, { now, zone, today }) => {
      const days = dayOf(g(m, 2));
      if (days.length !== 1) return null;
      const time = parseTimeWords(g(m, 3));
      const target = DAY_NUMBERS[days[0] as Day];
      let ahead = (target - new Date(`${today}T00:00:00Z`).getUTCDay() + 7) % 7;
      // "next friday" on a Friday is a week on; "this friday" is today if the time is ahead.
      if (ahead === 0 && (g(m, 1) === "next" || time <= zonedParts(now, zone).time)) ahead = 7;
      return `once ${addDays(today, ahead)} ${time}`;
    },
  ],
];

/**
 * A one-off relative to now ("tomorrow at 10:00", "in 2 hours", "next friday 17:00") as the
 * compact text `once YYYY-MM-DD HH:MM` in `zone`; null when the text is not one.
 */
export function resolveRelative(input: string, now: number, zone: string): string | null {
  return firstMatch(RELATIVE, normalize(input), { now, zone, today: zonedParts(now, zone).date });
}

function normalize(input: string): string {
  return input
    .trim()
    .toLowerCase()
    .replace(/\s+/g, " ")
    .replace(/\s?,\s?/g, ",")
    .replace(/\.$/, "");
}

function dayWords(days: readonly Day[]): string {
  const key = days.join(",");
  if (key === "mon,tue,wed,thu,fri") return "weekday";
  if (key === "sat,sun") return "Saturday and Sunday";
  const names = days.map((d) => {
    const full = FULL_DAYS[DAYS.indexOf(d)] as string;
    return full[0]?.toUpperCase() + full.slice(1);
  });
  return names.length === 1
    ? (names[0] as string)
    : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
}

/** A schedule in words: "every weekday at 09:00", "at 10:00, on the first Monday of the month". */
export function describeSchedule(s: Schedule): string {
  switch (s.type) {
    case "daily":
      return `every day at ${s.time}`;
    case "weekly":
      return s.everyWeeks
        ? `every ${s.everyWeeks === 2 ? "other week" : `${s.everyWeeks} weeks`} on ${dayWords(s.days)} at ${s.time}${s.from ? `, from ${s.from}` : ""}`
        : `every ${dayWords(s.days)} at ${s.time}`;
    case "interval": {
      const unit = s.unit.slice(0, -1);
      return s.every === 1 ? `every ${unit}` : `every ${s.every} ${s.unit}`;
    }
    case "once":
      return `once on ${s.at.slice(0, 10)} at ${s.at.slice(11)}`;
    case "cron": {
      try {
        const words = cronstrue.toString(s.expression, { use24HourTimeFormat: true });
        return words.charAt(0).toLowerCase() + words.slice(1);
      } catch {
        return `cron ${s.expression}`;
      }
    }
  }
}
