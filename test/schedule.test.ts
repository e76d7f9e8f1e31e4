import { Cron } from "croner";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../src/shared/errors.ts";
import { dstNote, lastRunBetween, nextRunAfter, nextRuns } from "../src/time/runs.ts";
import { checkSchedule, formatSchedule, parseSchedule } from "../src/time/schedule.ts";
import { offsetAt, wallClockFromParts, zoneFormatter } from "../src/time/wall-clock.ts";

const iso = (ms: number[]) => ms.map((m) => new Date(m).toISOString());

function rejection(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error("expected a ValidationError");
}

describe("parseSchedule / formatSchedule", () => {
  it.each([
    ["daily 09:00", { type: "daily", time: "09:00" }],
    ["weekly mon,fri 17:00", { type: "weekly", days: ["mon", "fri"], time: "17:00" }],
    ["every 30m", { type: "interval", every: 30, unit: "minutes" }],
    ["every 2h", { type: "interval", every: 2, unit: "hours" }],
    ["every 45s", { type: "interval", every: 45, unit: "seconds" }],
    ["once 2026-12-01 09:00", { type: "once", at: "2026-12-01T09:00" }],
    ["cron 0 9 * * 1-5", { type: "cron", expression: "0 9 * * 1-5" }],
  ])("%s round-trips", (text, structured) => {
    expect(parseSchedule(text)).toEqual(structured);
    expect(formatSchedule(parseSchedule(text))).toBe(text);
  });

  it("accepts friendly variants and normalises them", () => {
    expect(parseSchedule("  Daily   9:05 ")).toEqual({ type: "daily", time: "09:05" });
    expect(parseSchedule("weekly friday,Mon 7:30")).toEqual({
      type: "weekly",
      days: ["mon", "fri"],
      time: "07:30",
    });
    expect(parseSchedule("weekly mon-fri 08:00")).toMatchObject({
      days: ["mon", "tue", "wed", "thu", "fri"],
    });
    expect(formatSchedule(parseSchedule("weekly sun,mon-wed,fri 08:00"))).toBe(
      "weekly mon-wed,fri,sun 08:00",
    );
    expect(formatSchedule(parseSchedule("weekly sat-mon 08:00"))).toBe("weekly mon,sat,sun 08:00");
    expect(parseSchedule("every 90 minutes")).toEqual({
      type: "interval",
      every: 90,
      unit: "minutes",
    });
    expect(parseSchedule("every 1d")).toEqual({ type: "interval", every: 24, unit: "hours" });
    expect(parseSchedule("*/5 * * * *")).toEqual({ type: "cron", expression: "*/5 * * * *" });
    expect(parseSchedule("0 */10 * * * *")).toEqual({ type: "cron", expression: "0 */10 * * * *" });
  });

  it.each([
    ["daily 25:00", /not a time of day.*00-23/, "daily 09:00"],
    ["daily 9", /not a time of day/, "daily 09:00"],
    [
      "weekly funday 10:00",
      /"funday" is not a day \(did you mean "sunday"\?\); use mon, tue/,
      "weekly mon,fri 17:00",
    ],
    ["weekly 10:00", /weekly takes days then a time/, "weekly mon,fri 17:00"],
    ["every 0m", /at least 1/, "every 30m"],
    ["every 5 fortnights", /not an interval/, "every 30m"],
    ["once 2026-02-30 09:00", /"2026-02-30" is not a date/, "2026-12-24 18:00"],
    ["cron 61 * * * *", /not a valid cron expression.*minute/, "cron 0 9 * * 1-5"],
    ["cron * * *", /5 or 6 fields/, "cron 0 9 * * 1-5"],
    ["fortnightly", /"fortnightly" is not a schedule kind/, "daily 09:00"],
    ["", /is empty/, "daily 09:00"],
  ])("refuses %j with a message and an example", (text, problem, example) => {
    const err = rejection(() => parseSchedule(text));
    expect(err.field).toBe("schedule");
    expect(err.message).toMatch(problem);
    expect(err.message).toContain(example);
  });
});

describe("checkSchedule", () => {
  const now = Date.parse("2026-11-26T12:00:00Z");

  it("refuses a once in the past, naming the zone", () => {
    const err = rejection(() =>
      checkSchedule(parseSchedule("once 2026-11-26 09:00"), "Europe/Paris", {
        now,
        minIntervalSeconds: 60,
      }),
    );
    expect(err.message).toMatch(/2026-11-26 09:00 in Europe\/Paris is in the past/);
    expect(() =>
      checkSchedule(parseSchedule("once 2026-11-26 14:00"), "Europe/Paris", {
        now,
        minIntervalSeconds: 60,
      }),
    ).not.toThrow();
  });

  it("enforces MIN_INTERVAL_SECONDS on intervals and on cron", () => {
    expect(() =>
      checkSchedule(parseSchedule("every 45s"), "UTC", { now, minIntervalSeconds: 60 }),
    ).toThrow(/more often than the minimum of 60s/);
    expect(() =>
      checkSchedule(parseSchedule("every 45s"), "UTC", { now, minIntervalSeconds: 30 }),
    ).not.toThrow();
    expect(() =>
      checkSchedule(parseSchedule("* * * * * *"), "UTC", { now, minIntervalSeconds: 60 }),
    ).toThrow(/1s apart/);
    expect(() =>
      checkSchedule(parseSchedule("*/5 * * * *"), "UTC", { now, minIntervalSeconds: 60 }),
    ).not.toThrow();
  });
});

describe("next runs (croner's maths, pure)", () => {
  it("daily in the task's zone", () => {
    const runs = nextRuns(
      parseSchedule("daily 08:00"),
      "America/New_York",
      Date.parse("2026-11-26T12:00:00Z"),
      3,
    );
    expect(iso(runs)).toEqual([
      "2026-11-26T13:00:00.000Z",
      "2026-11-27T13:00:00.000Z",
      "2026-11-28T13:00:00.000Z",
    ]);
  });

  it("weekly on the given days", () => {
    // 2026-11-26 is a Thursday.
    const runs = nextRuns(
      parseSchedule("weekly mon,fri 17:00"),
      "UTC",
      Date.parse("2026-11-26T00:00:00Z"),
      3,
    );
    expect(iso(runs)).toEqual([
      "2026-11-27T17:00:00.000Z",
      "2026-11-30T17:00:00.000Z",
      "2026-12-04T17:00:00.000Z",
    ]);
  });

  it("intervals aligned to the clock, strictly after the reference", () => {
    const s = parseSchedule("every 30m");
    expect(
      new Date(nextRunAfter(s, "UTC", Date.parse("2026-11-26T10:29:59Z")) as number).toISOString(),
    ).toBe("2026-11-26T10:30:00.000Z");
    expect(
      new Date(nextRunAfter(s, "UTC", Date.parse("2026-11-26T10:30:00Z")) as number).toISOString(),
    ).toBe("2026-11-26T11:00:00.000Z");
  });

  it("once runs once, in its zone", () => {
    const s = parseSchedule("once 2026-12-01 09:00");
    const at = nextRunAfter(s, "Europe/Paris", Date.parse("2026-11-26T00:00:00Z"));
    expect(new Date(at as number).toISOString()).toBe("2026-12-01T08:00:00.000Z");
    expect(nextRunAfter(s, "Europe/Paris", at as number)).toBeNull();
  });

  it("finds the latest run missed in a window", () => {
    const s = parseSchedule("every 15m");
    const last = lastRunBetween(
      s,
      "UTC",
      Date.parse("2026-11-26T09:00:00Z"),
      Date.parse("2026-11-26T09:50:00Z"),
    );
    expect(new Date(last as number).toISOString()).toBe("2026-11-26T09:45:00.000Z");
    expect(
      lastRunBetween(
        s,
        "UTC",
        Date.parse("2026-11-26T09:46:00Z"),
        Date.parse("2026-11-26T09:50:00Z"),
      ),
    ).toBeNull();
  });
});

describe("the cached croner answers", () => {
  // The scheduler keeps croner instances in an LRU, drops their unread year tables and asks
  // about UTC as a fixed offset; whatever the pattern (a year field included), its answers must
  // be a fresh croner's in that zone, run after run.
  const field = (max: number, min = 0) =>
    fc.oneof(
      fc.constant("*"),
      fc.integer({ min, max }).map(String),
      fc.integer({ min: 1, max: Math.max(1, max) }).map((n) => `*/${n}`),
      fc
        .tuple(fc.integer({ min, max }), fc.integer({ min, max }))
        .map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
    );
  const expression = fc
    .tuple(
      field(59),
      field(23),
      field(28, 1),
      field(12, 1),
      field(6),
      fc.option(fc.integer({ min: 2026, max: 2032 }).map(String), { nil: undefined }),
    )
    .map(([m, h, dom, mon, dow, year]) =>
      year ? `0 ${m} ${h} ${dom} ${mon} ${dow} ${year}` : `${m} ${h} ${dom} ${mon} ${dow}`,
    );
  const zone = fc.constantFrom(
    "UTC",
    "Etc/UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
  );
  const instant = fc.integer({
    min: Date.parse("2026-01-01T00:00:00Z"),
    max: Date.parse("2030-12-31T00:00:00Z"),
  });

  // Away from daylight-saving changes. Near one, croner's own answers break the rule every
  // schedule follows here (it runs a repeated time twice, drops a skipped one); the DST tests
  // below and the timeline's property test hold those cases.
  const nearDstChange = (tz: string, ms: number) =>
    offsetAt(ms - 86_400_000, tz) !== offsetAt(ms + 86_400_000, tz);

  it("are a fresh croner's: the next three runs of any pattern, zone and instant", () => {
    fc.assert(
      fc.property(expression, zone, instant, (expr, tz, ref) => {
        const fresh = new Cron(expr, { timezone: tz, paused: true })
          .nextRuns(3, new Date(ref))
          .map((d) => d.getTime());
        const ours = nextRuns({ type: "cron", expression: expr }, tz, ref, 3);
        fc.pre(![...fresh, ...ours].some((ms) => nearDstChange(tz, ms)));
        expect(ours).toEqual(fresh);
      }),
      { numRuns: 300 },
    );
  });
});

describe("daily and weekly runs, by arithmetic", () => {
  // Daily and weekly times are matched without croner; each answer must be what croner gives
  // for the schedule's pattern, wherever the instant falls (whole minutes and seconds, the
  // match itself, before 1970 and past the year 3000, where croner answers), in UTC and away
  // from daylight-saving changes in other zones.
  const hhmm = fc
    .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
    .map(([h, m]) => `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`);
  const schedule = fc.oneof(
    hhmm.map((time) => ({ type: "daily" as const, time })),
    fc
      .tuple(fc.subarray(["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const), hhmm)
      .filter(([days]) => days.length > 0)
      .map(([days, time]) => ({ type: "weekly" as const, days: [...days], time })),
  );
  const pattern = (s: { time: string; days?: readonly string[] }) =>
    `0 ${Number(s.time.slice(3))} ${Number(s.time.slice(0, 2))} * * ${s.days?.join(",") ?? "*"}`;
  const instant = fc.oneof(
    fc.integer({
      min: Date.parse("1960-01-01T00:00:00Z"),
      max: Date.parse("2040-01-01T00:00:00Z"),
    }),
    // On a minute, on a second, or just before one.
    fc
      .tuple(
        fc.integer({ min: 0, max: 2_000_000 }),
        fc.constantFrom(0, -1, 1, 999, 1000, -1000, 59_999),
      )
      .map(([min, d]) => Date.parse("2026-01-01T00:00:00Z") + min * 60_000 + d),
    fc.integer({
      min: Date.parse("2998-12-01T00:00:00Z"),
      max: Date.parse("3000-01-10T00:00:00Z"),
    }),
  );
  const fresh = (s: { time: string; days?: readonly string[] }, tz: string, ref: number) =>
    new Cron(pattern(s), { timezone: tz, paused: true })
      .nextRuns(3, new Date(ref))
      .map((d) => d.getTime());

  it("are croner's in UTC", () => {
    fc.assert(
      fc.property(schedule, instant, (s, ref) => {
        expect(nextRuns(s, "UTC", ref, 3)).toEqual(fresh(s, "UTC", ref));
      }),
      { numRuns: 1000 },
    );
  });

  it("are croner's in other zones, away from daylight-saving changes", () => {
    const zone = fc.constantFrom("Europe/Berlin", "America/New_York", "Asia/Kolkata");
    const nearDstChange = (tz: string, ms: number) =>
      offsetAt(ms - 86_400_000, tz) !== offsetAt(ms + 86_400_000, tz);
    fc.assert(
      fc.property(schedule, zone, fc.integer({ min: 0, max: 5 * 365 * 1440 }), (s, tz, min) => {
        const ref = Date.parse("2026-01-01T00:00:00Z") + min * 60_000;
        const theirs = fresh(s, tz, ref);
        const ours = nextRuns(s, tz, ref, 3);
        fc.pre(![...theirs, ...ours].some((ms) => nearDstChange(tz, ms)));
        expect(ours).toEqual(theirs);
      }),
      { numRuns: 300 },
    );
  });

  it("are each schedule's own when others are asked about the same instant (the memo)", () => {
    const zone = fc.constantFrom("UTC", "Europe/Berlin", "Asia/Kolkata");
    fc.assert(
      fc.property(fc.array(schedule, { minLength: 2, maxLength: 8 }), zone, (list, tz) => {
        const ref = Date.parse("2026-06-10T10:00:00Z");
        for (const s of list)
          expect([s, nextRunAfter(s, tz, ref)]).toEqual([s, fresh(s, tz, ref)[0]]);
      }),
      { numRuns: 300 },
    );
  });

  it("leave a time or day croner refuses to croner", () => {
    expect(() => nextRunAfter({ type: "daily", time: "24:00" }, "UTC", 0)).toThrow();
    expect(() =>
      nextRunAfter({ type: "weekly", days: ["someday" as "mon"], time: "09:00" }, "UTC", 0),
    ).toThrow();
  });
});

describe("a zone's offset", () => {
  // offsetAt reads the formatter's text and keeps its last answers; each must be what the
  // formatter's parts say, whatever the instant (odd offsets of the past, years before 1000 and
  // far ahead, second fractions) and in whatever order instants are asked about.
  const partsOffset = (ms: number, tz: string) => {
    const whole = Math.floor(ms / 1000) * 1000;
    return wallClockFromParts(zoneFormatter(tz), whole) - whole;
  };

  it("is the formatter's parts', at any instant in any zone", () => {
    const zone = fc.constantFrom(
      "Europe/Paris",
      "America/New_York",
      "Asia/Kolkata",
      "Australia/Lord_Howe",
      "Pacific/Chatham",
      "America/St_Johns",
      "Africa/Casablanca",
    );
    const instant = fc.oneof(
      fc.integer({
        min: Date.parse("1850-01-01T00:00:00Z"),
        max: Date.parse("2100-01-01T00:00:00Z"),
      }),
      fc.integer({ min: -8.64e15, max: 8.64e15 }),
      fc.integer({
        min: Date.parse("2026-01-01T00:00:00Z"),
        max: Date.parse("2026-01-08T00:00:00Z"),
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(instant, zone), { minLength: 1, maxLength: 6 }), (asks) => {
        for (const [ms, tz] of asks) expect(offsetAt(ms, tz)).toBe(partsOffset(ms, tz));
      }),
      { numRuns: 500 },
    );
  });
});

describe("daylight saving time (daily 02:30 in Europe/Berlin)", () => {
  const s = parseSchedule("daily 02:30");
  const zone = "Europe/Berlin";

  it("runs once on the day 02:30 does not exist, moved and flagged", () => {
    // 2026-03-29: clocks jump from 02:00 to 03:00.
    const runs = nextRuns(s, zone, Date.parse("2026-03-27T12:00:00Z"), 3);
    expect(iso(runs)).toEqual([
      "2026-03-28T01:30:00.000Z",
      "2026-03-29T01:00:00.000Z",
      "2026-03-30T00:30:00.000Z",
    ]);
    expect(dstNote(s, zone, runs[0] as number)).toBeNull();
    expect(dstNote(s, zone, runs[1] as number)).toMatch(/moved from 02:30 to 03:00/);
    expect(dstNote(s, zone, runs[2] as number)).toBeNull();
  });

  it("runs once on the day 02:30 happens twice", () => {
    // 2026-10-25: clocks fall back from 03:00 to 02:00, so 02:30 comes twice.
    const runs = nextRuns(s, zone, Date.parse("2026-10-24T12:00:00Z"), 2);
    expect(iso(runs)).toEqual(["2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z"]);
  });
});
