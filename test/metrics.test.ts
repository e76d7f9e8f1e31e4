import { describe, expect, it } from "vitest";
import type { Execution } from "../src/store/execution.ts";
import { createMetrics, IsoParser } from "../src/web/metrics.ts";

// The runner's attempt hook counts every attempt without building keys or parsing each
// timestamp afresh: the same counts, in the same order, and the same fire lag as the plain way.

const line = (extra: Partial<Execution>): Execution => ({
  ts: "2026-11-28T09:00:00.250Z",
  guildId: "local",
  taskId: "t",
  runId: "local/t@2026-11-28T09:00:00.000Z",
  scheduledFor: "2026-11-28T09:00:00.000Z",
  attempt: 1,
  trigger: "schedule",
  status: "success",
  durationMs: 50,
  error: null,
  ...extra,
});

describe("IsoParser", () => {
  it("parses as Date.parse does, whatever came before", () => {
    const texts = [
      "123Z",
      "2026-11-28T09:00:00.000Z",
      "2026-11-28T09:00:00.999Z",
      "2026-11-28T09:00:00.05aZ",
      "2026-11-28T09:00:00.050",
      "2026-11-28T09:00:00.0500",
      "2026-11-28T09:00:01.001Z",
      "2026-11-28T09:00:00.123Z",
      "2026-11-28T09:00:00Z",
      "2026-11-28",
      "2026-02-30T09:00:00.000Z",
      "2026-02-30T09:00:00.001Z",
      "1969-12-31T23:59:59.999Z",
      "1969-12-31T23:59:59.001Z",
      "+275760-09-13T00:00:00.000Z",
      "not a date",
      "",
      "2026-11-28T09:00:00.123Z",
      "2026-11-28T09:00:00.124+01:00",
    ];
    const parser = new IsoParser();
    for (const text of [...texts, ...texts.reverse()]) {
      expect(parser.parse(text), text).toEqual(Date.parse(text));
    }
  });
});

describe("metrics", () => {
  it("counts attempts by status and trigger in first-seen order, and the fire lag", async () => {
    const m = createMetrics(() => []);
    m.attempt(line({}));
    m.attempt(line({ status: "failure", ts: "2026-11-28T09:00:00.450Z", durationMs: 100 }));
    m.attempt(line({ trigger: "manual" }));
    m.attempt(line({ ts: "2026-11-28T09:00:01.000Z", durationMs: 0 }));
    m.attempt(line({ trigger: "retry", attempt: 2, status: "failure" }));
    m.attempt(line({ attempt: 2, ts: "2026-11-28T09:00:05.000Z" })); // not a first attempt
    const text = await m.registry.metrics();
    expect(text).toContain(
      [
        'mission_control_attempts_total{status="success",trigger="schedule"} 3',
        'mission_control_attempts_total{status="failure",trigger="schedule"} 1',
        'mission_control_attempts_total{status="success",trigger="manual"} 1',
        'mission_control_attempts_total{status="failure",trigger="retry"} 1',
      ].join("\n"),
    );
    // Lags of the first scheduled attempts: 0.2 s, 0.35 s and 1 s.
    const sum = /mission_control_fire_lag_seconds_sum (\S+)/.exec(text)?.[1];
    expect(Number(sum)).toBeCloseTo(1.55, 9);
    expect(text).toContain("mission_control_fire_lag_seconds_count 3");
  });
});
