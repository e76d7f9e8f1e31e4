import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { statusView, taskDetails, taskList } from "../src/cli/format.ts";
import { upcomingText } from "../src/discord/format.ts";
import type { OutputSink, RunFailure } from "../src/outputs/sink.ts";
import { ValidationError } from "../src/shared/errors.ts";
import { TaskSchema } from "../src/tasks/model.ts";
import { parseSchedule } from "../src/time/schedule.ts";
import { taskRuns } from "../src/time/timeline.ts";
import {
  closedAfterEach,
  makeWorld,
  readExecutions,
  runUntil,
  scriptedHandler,
} from "./support/world.ts";

const keep = closedAfterEach();

const iso = (ms: number) => new Date(ms).toISOString();

describe("one answer to 'when next'", () => {
  it("a task with maxRuns 1, after its one run: no next run in list, show, status, the alert or the scheduler", async () => {
    const failures: RunFailure[] = [];
    const alerts: OutputSink = { name: "alerts", alert: async (f) => void failures.push(f) };
    const h = scriptedHandler("flaky", [
      () => {
        throw new Error("down");
      },
    ]);
    const w = keep(
      await makeWorld({ start: "2026-11-26T08:00:30Z", handlers: [h], sinks: [alerts] }),
    );
    const { service } = w.app;
    await service.addTask("local", {
      id: "once-only",
      handler: "flaky",
      schedule: "every 1m",
      maxRuns: 1,
      retries: 0,
    });
    expect(service.nextRun("local", "once-only")?.toISOString()).toBe("2026-11-26T08:01:00.000Z");
    await runUntil(w, "2026-11-26T08:01:30Z");
    expect(h.calls).toHaveLength(1);

    const task = service.getTask("local", "once-only");
    expect(task.history.totalRuns).toBe(1);
    expect(service.nextRun("local", "once-only")).toBeNull();
    expect(service.upcomingRuns("local", "once-only", 3)).toEqual([]);
    expect(service.overview("local").map((r) => r.nextRun)).toEqual([null]);
    expect(taskList(service.overview("local"))).toMatch(/once-only .* —$/m);
    expect(statusView(service.overview("local"))).toMatch(/once-only .* — /);
    expect(taskDetails(task, service.upcomingRuns("local", "once-only", 3))).toContain(
      "(no upcoming runs)",
    );
    expect(failures).toHaveLength(1);
    expect(failures[0]?.nextRun).toBeNull();
    await runUntil(w, "2026-11-26T09:00:00Z");
    expect(h.calls).toHaveLength(1);
    expect(w.clock.pending).toBe(0);
  });

  it("a skipped run is marked, counts for nothing, and the next real run is the one after it", async () => {
    const h = scriptedHandler("rec", [() => "ok"]);
    const w = keep(await makeWorld({ start: "2026-11-26T07:00:00Z", handlers: [h] }));
    const { service } = w.app;
    await service.addTask("local", {
      id: "a",
      handler: "rec",
      schedule: "daily 08:00",
      maxRuns: 2,
    });
    await service.skipNext("local", "a");
    expect(
      service.upcomingRuns("local", "a", 4).map((r) => [iso(r.at.getTime()), r.skipped]),
    ).toEqual([
      ["2026-11-26T08:00:00.000Z", true],
      ["2026-11-27T08:00:00.000Z", false],
      ["2026-11-28T08:00:00.000Z", false],
    ]);
    expect(service.nextRun("local", "a")?.toISOString()).toBe("2026-11-27T08:00:00.000Z");
    const shown = taskDetails(service.getTask("local", "a"), service.upcomingRuns("local", "a", 3));
    expect(shown).toMatch(
      /2026-11-26 08:00 \(UTC\) {2}\(skipped, as asked\)\n.*2026-11-27 08:00 \(UTC\)$/m,
    );
    expect(upcomingText(service.upcomingRuns("local", "a", 3))).toMatch(
      /^• ~~<t:\d+:f>.*~~ \(skipped, as asked\)\n• <t:/,
    );
  });
});

describe("one daylight-saving rule for every kind of schedule (Europe/Berlin)", () => {
  const zone = "Europe/Berlin";
  const base = TaskSchema.parse({
    guildId: "local",
    id: "x",
    name: "x",
    handler: "test",
    schedule: { type: "daily", time: "09:00" },
    timezone: zone,
    createdAt: "2027-01-01T00:00:00.000Z",
    updatedAt: "2027-01-01T00:00:00.000Z",
  });
  const first = (schedule: string, from: string) =>
    taskRuns({ ...base, schedule: parseSchedule(schedule) }, Date.parse(from), 1).map((r) => [
      iso(r.at),
      r.dstNote,
    ])[0];

  it("a time that does not exist runs at the first instant after the gap, flagged, whatever the kind", () => {
    // 2027-03-28: clocks jump from 02:00 to 03:00 (01:00Z).
    const moved = [
      "2027-03-28T01:00:00.000Z",
      "moved from 02:30 to 03:00 by a daylight-saving change",
    ];
    expect(first("once 2027-03-28 02:30", "2027-03-27T12:00:00Z")).toEqual(moved);
    expect(first("cron 30 2 28 3 *", "2027-03-27T12:00:00Z")).toEqual(moved);
    expect(first("daily 02:30", "2027-03-27T12:00:00Z")).toEqual(moved);
    expect(first("weekly sun 02:30", "2027-03-27T12:00:00Z")).toEqual(moved);
  });

  it("a time that happens twice runs once, at its first occurrence, flagged, whatever the kind", () => {
    // 2027-10-31: clocks go back from 03:00 to 02:00 (01:00Z), so 02:30 comes at 00:30Z and 01:30Z.
    for (const schedule of ["once 2027-10-31 02:30", "cron 30 2 31 10 *", "daily 02:30"]) {
      const [at, note] = first(schedule, "2027-10-30T12:00:00Z") ?? [];
      expect([schedule, at]).toEqual([schedule, "2027-10-31T00:30:00.000Z"]);
      expect(note).toMatch(/02:30 happens twice that day/);
    }
    // Between the two occurrences, the run is behind us: the next is the day after.
    expect(first("daily 02:30", "2027-10-31T00:45:00Z")).toEqual([
      "2027-11-01T01:30:00.000Z",
      null,
    ]);
    // A pattern that runs every 20 minutes runs each repeated time once.
    const runs = taskRuns(
      { ...base, schedule: parseSchedule("cron */20 2 * * *") },
      Date.parse("2027-10-30T23:00:00Z"),
      4,
    ).map((r) => iso(r.at));
    expect(runs).toEqual([
      "2027-10-31T00:00:00.000Z",
      "2027-10-31T00:20:00.000Z",
      "2027-10-31T00:40:00.000Z",
      "2027-11-01T01:00:00.000Z",
    ]);
  });
});

describe("the timeline predicts the scheduler (property)", () => {
  const schedule = fc.oneof(
    fc
      .tuple(fc.constantFrom("00", "01", "02", "03", "12"), fc.constantFrom("00", "15", "30"))
      .map(([h, m]) => `daily ${h}:${m}`),
    fc
      .tuple(
        fc.constantFrom("sun", "mon,sun", "sat,sun", "mon-fri"),
        fc.constantFrom("01:30", "02:30"),
      )
      .map(([d, t]) => `weekly ${d} ${t}`),
    fc.constantFrom("every 30m", "every 45m", "every 2h", "every 90m"),
    fc.constantFrom(
      "cron */20 1-3 * * *",
      "cron 30 2 * * *",
      "cron 0 */3 * * *",
      "cron 45 1,2 * * 0",
    ),
    fc
      .tuple(fc.integer({ min: 0, max: 2 }), fc.constantFrom("01:30", "02:00", "02:30", "03:00"))
      .map(([day, time]) => ({ day, time })),
  );
  // Start instants around the 2026-2027 changes of each zone, and anywhere else.
  const changes = [
    "2026-03-08T07:00:00Z", // America/New_York forward
    "2026-03-29T01:00:00Z", // Europe forward
    "2026-10-25T01:00:00Z", // Europe back
    "2026-11-01T06:00:00Z", // America/New_York back
    "2027-04-04T15:00:00Z", // Australia/Lord_Howe back (30 minutes)
    "2027-10-02T15:30:00Z", // Australia/Lord_Howe forward (30 minutes)
  ].map(Date.parse);
  const start = fc.oneof(
    fc
      .tuple(fc.constantFrom(...changes), fc.integer({ min: -36, max: 12 }))
      .map(([at, hours]) => at + hours * 3_600_000 + 17_000),
    fc.integer({
      min: Date.parse("2026-01-01T00:00:00Z"),
      max: Date.parse("2027-12-01T00:00:00Z"),
    }),
  );
  const zone = fc.constantFrom(
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "UTC",
  );
  const limits = fc.record({
    maxRuns: fc.option(fc.integer({ min: 1, max: 4 }), { nil: null }),
    untilHours: fc.option(fc.integer({ min: 1, max: 60 }), { nil: null }),
    skipNext: fc.boolean(),
    enabled: fc.oneof(fc.constant(true), fc.constant(true), fc.constant(false)),
  });

  it("for random tasks, zones and instants, the runs that happen are the runs it predicts", async () => {
    const h = scriptedHandler("rec", [() => "ok"]);
    await fc.assert(
      fc.asyncProperty(schedule, zone, start, limits, async (when, tz, startMs, limit) => {
        h.calls.length = 0;
        const w = await makeWorld({ start: startMs, handlers: [h] });
        try {
          const { service } = w.app;
          const text =
            typeof when === "string"
              ? when
              : `once ${iso(startMs + when.day * 86_400_000).slice(0, 10)} ${when.time}`;
          try {
            await service.addTask("local", {
              id: "p",
              handler: "rec",
              schedule: text,
              timezone: tz,
              retries: 0,
              maxRuns: limit.maxRuns,
              until: limit.untilHours === null ? null : iso(startMs + limit.untilHours * 3_600_000),
              enabled: limit.enabled,
            });
          } catch (err) {
            if (err instanceof ValidationError) return fc.pre(false); // e.g. a once in the past
            throw err;
          }
          if (limit.skipNext && limit.enabled) await service.skipNext("local", "p");
          const end = startMs + 2.5 * 86_400_000;
          const predicted = taskRuns(service.getTask("local", "p"), startMs, 200).filter(
            (r) => r.at <= end,
          );
          await runUntil(w, end);
          const ran = h.calls.map((c) => iso(c.scheduledFor.getTime()));
          const skipped = (await readExecutions(w))
            .filter((e) => e.status === "skipped")
            .map((e) => e.scheduledFor);
          expect({ ran, skipped }).toEqual({
            ran: predicted.filter((r) => !r.skipped).map((r) => iso(r.at)),
            skipped: predicted.filter((r) => r.skipped).map((r) => iso(r.at)),
          });
        } finally {
          await w.close();
        }
      }),
      { numRuns: 40 },
    );
  }, 120_000);
});
