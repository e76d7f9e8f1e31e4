import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../src/shared/errors.ts";
import { DAYS } from "../src/time/days.ts";
import { nextRuns } from "../src/time/runs.ts";
import { parseSchedule, type Schedule } from "../src/time/schedule.ts";
import { describeSchedule, resolveRelative } from "../src/time/schedule-words.ts";

// The phrases people type, what they become, and how they are read back.
const PHRASES: [string, Schedule, string][] = [
  [
    "every weekday at 9am",
    { type: "weekly", days: ["mon", "tue", "wed", "thu", "fri"], time: "09:00" },
    "every weekday at 09:00",
  ],
  ["every day at 9:30", { type: "daily", time: "09:30" }, "every day at 09:30"],
  ["every day 09:00", { type: "daily", time: "09:00" }, "every day at 09:00"],
  [
    "Every Monday and Friday at 17:00",
    { type: "weekly", days: ["mon", "fri"], time: "17:00" },
    "every Monday and Friday at 17:00",
  ],
  [
    "every mon, wed and fri at 8:15pm",
    { type: "weekly", days: ["mon", "wed", "fri"], time: "20:15" },
    "every Monday, Wednesday and Friday at 20:15",
  ],
  [
    "every weekend at noon",
    { type: "weekly", days: ["sat", "sun"], time: "12:00" },
    "every Saturday and Sunday at 12:00",
  ],
  [
    "every tuesday to thursday at 7am",
    { type: "weekly", days: ["tue", "wed", "thu"], time: "07:00" },
    "every Tuesday, Wednesday and Thursday at 07:00",
  ],
  ["every 2 hours", { type: "interval", every: 2, unit: "hours" }, "every 2 hours"],
  ["hourly", { type: "interval", every: 1, unit: "hours" }, "every hour"],
  ["every minute", { type: "interval", every: 1, unit: "minutes" }, "every minute"],
  ["daily 08:00,17:00", { type: "cron", expression: "0 8,17 * * *" }, "at 08:00 and 17:00"],
  ["every day at 8am and 5pm", { type: "cron", expression: "0 8,17 * * *" }, "at 08:00 and 17:00"],
  [
    "every weekday at 9am and 1pm",
    { type: "cron", expression: "0 9,13 * * 1-5" },
    "at 09:00 and 13:00, Monday through Friday",
  ],
  [
    "first monday of the month at 10:00",
    { type: "cron", expression: "0 10 * * 1#1" },
    "at 10:00, on the first Monday of the month",
  ],
  [
    "the second tuesday of every month at 10am",
    { type: "cron", expression: "0 10 * * 2#2" },
    "at 10:00, on the second Tuesday of the month",
  ],
  [
    "last friday of the month at 4pm",
    { type: "cron", expression: "0 16 * * 5L" },
    "at 16:00, on the last Friday of the month",
  ],
  [
    "last day of the month at 18:00",
    { type: "cron", expression: "0 18 L * *" },
    "at 18:00, on the last day of the month",
  ],
  [
    "on the 15th at 10:00",
    { type: "cron", expression: "0 10 15 * *" },
    "at 10:00, on day 15 of the month",
  ],
  ["2026-12-24 18:00", { type: "once", at: "2026-12-24T18:00" }, "once on 2026-12-24 at 18:00"],
  ["on 2026-12-24 at 6pm", { type: "once", at: "2026-12-24T18:00" }, "once on 2026-12-24 at 18:00"],
  [
    "every 2nd tuesday at 10:00 from 2026-12-01",
    { type: "weekly", days: ["tue"], time: "10:00", everyWeeks: 2, from: "2026-12-01" },
    "every other week on Tuesday at 10:00, from 2026-12-01",
  ],
  [
    "every 3 weeks on mon and wed at 9am starting 2026-12-02",
    { type: "weekly", days: ["mon", "wed"], time: "09:00", everyWeeks: 3, from: "2026-12-02" },
    "every 3 weeks on Monday and Wednesday at 09:00, from 2026-12-02",
  ],
  // The compact grammar keeps working.
  [
    "weekly mon-fri 09:25",
    { type: "weekly", days: ["mon", "tue", "wed", "thu", "fri"], time: "09:25" },
    "every weekday at 09:25",
  ],
  ["daily 07:30", { type: "daily", time: "07:30" }, "every day at 07:30"],
  ["every 45s", { type: "interval", every: 45, unit: "seconds" }, "every 45 seconds"],
  [
    "cron 0 9 * * 1-5",
    { type: "cron", expression: "0 9 * * 1-5" },
    "at 09:00, Monday through Friday",
  ],
];

describe("schedules in plain words", () => {
  it.each(PHRASES)("%s", (text, schedule, words) => {
    expect(parseSchedule(text)).toEqual(schedule);
    expect(describeSchedule(schedule)).toBe(words);
  });

  it("refuses what it cannot read, saying how to write it", () => {
    const cases: [string, RegExp][] = [
      ["every day at 25:00", /"25:00" is not a time of day; write 9am, 5:30pm or 17:30/],
      ["every day at 13pm", /"13pm" is not a time of day/],
      ["daily 08:15,17:45", /must have the same minutes.*add a task for each/],
      ["on the 32nd at 10:00", /there is no day 32 in a month/],
    ];
    for (const [text, message] of cases) {
      const err = (() => {
        try {
          parseSchedule(text);
        } catch (e) {
          return e;
        }
      })();
      expect(err, text).toBeInstanceOf(ValidationError);
      expect(String((err as Error).message), text).toMatch(message);
    }
  });

  it("resolves one-offs against now, in the task's zone", () => {
    // Saturday 28 November 2026, 10:17:30 in Paris.
    const now = Date.parse("2026-11-28T09:17:30Z");
    const zone = "Europe/Paris";
    expect(resolveRelative("tomorrow at 10:00", now, zone)).toBe("once 2026-11-29 10:00");
    expect(resolveRelative("today at 6pm", now, zone)).toBe("once 2026-11-28 18:00");
    expect(resolveRelative("in 2 hours", now, zone)).toBe("once 2026-11-28 12:18");
    expect(resolveRelative("in 30 minutes", now, zone)).toBe("once 2026-11-28 10:48");
    expect(resolveRelative("next friday 17:00", now, zone)).toBe("once 2026-12-04 17:00");
    expect(resolveRelative("next saturday 17:00", now, zone)).toBe("once 2026-12-05 17:00");
    expect(resolveRelative("this saturday at 17:00", now, zone)).toBe("once 2026-11-28 17:00");
    expect(resolveRelative("this saturday at 9:00", now, zone)).toBe("once 2026-12-05 09:00");
    expect(resolveRelative("every day at 9am", now, zone)).toBeNull();
    // Every other week counts its weeks from this one, unless the phrase says from when.
    expect(resolveRelative("every other friday at 5pm", now, zone)).toBe(
      "every other friday at 5pm from 2026-11-28",
    );
    expect(resolveRelative("every other friday at 5pm from 2026-12-04", now, zone)).toBeNull();
  });

  it("reads every daily, weekly and interval schedule back into words that parse to it", () => {
    const time = fc
      .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
      .map(([h, m]) => `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`);
    const schedule: fc.Arbitrary<Schedule> = fc.oneof(
      time.map((t) => ({ type: "daily" as const, time: t })),
      fc
        .tuple(fc.subarray([...DAYS], { minLength: 1, maxLength: 6 }), time)
        .map(([days, t]) => ({ type: "weekly" as const, days, time: t })),
      fc
        .tuple(
          fc.subarray([...DAYS], { minLength: 1, maxLength: 6 }),
          time,
          fc.integer({ min: 2, max: 4 }),
          fc.date({
            min: new Date("2026-01-01"),
            max: new Date("2030-12-31"),
            noInvalidDate: true,
          }),
        )
        .map(([days, t, everyWeeks, from]) => ({
          type: "weekly" as const,
          days,
          time: t,
          everyWeeks,
          from: from.toISOString().slice(0, 10),
        })),
      fc
        .tuple(fc.integer({ min: 1, max: 500 }), fc.constantFrom("seconds", "minutes", "hours"))
        .map(([every, unit]) => ({ type: "interval" as const, every, unit: unit as "hours" })),
    );
    fc.assert(
      fc.property(schedule, (s) => {
        expect(parseSchedule(describeSchedule(s))).toEqual(s);
      }),
    );
  });

  it("runs every other week from the week of its start, never before it", () => {
    const s = parseSchedule("every other tuesday at 10:00 from 2026-12-02");
    // 2026-12-02 is a Wednesday: that week's Tuesday is before the start.
    expect(nextRuns(s, "Europe/Paris", Date.parse("2026-11-28T00:00:00Z"), 3)).toEqual([
      Date.parse("2026-12-15T09:00:00Z"),
      Date.parse("2026-12-29T09:00:00Z"),
      Date.parse("2027-01-12T09:00:00Z"),
    ]);
  });

  it("every phrase's pattern runs when croner says it does", () => {
    const from = Date.parse("2026-11-28T00:00:00Z");
    expect(nextRuns(parseSchedule("first monday of the month at 10:00"), "UTC", from, 2)).toEqual([
      Date.parse("2026-12-07T10:00:00Z"),
      Date.parse("2027-01-04T10:00:00Z"),
    ]);
    expect(nextRuns(parseSchedule("last day of the month at 18:00"), "UTC", from, 2)).toEqual([
      Date.parse("2026-11-30T18:00:00Z"),
      Date.parse("2026-12-31T18:00:00Z"),
    ]);
  });
});
