import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createFileSink, dayIn, isoString, outputPath } from "../src/outputs/file-sink.ts";
import type { RunOutput } from "../src/outputs/sink.ts";
import type { Task } from "../src/tasks/model.ts";
import { zonedParts } from "../src/time/timezone.ts";
import { task } from "./support/store-sandbox.ts";
import { tempDir } from "./support/world.ts";

// The file sink saves each run's output in its task's day file, the day in the task's zone:
// the day is worked out once per zone and second, the path once per task and day.

let dir: Awaited<ReturnType<typeof tempDir>>;
let sink: ReturnType<typeof createFileSink>;
beforeEach(async () => {
  dir = await tempDir();
  sink = createFileSink(dir.path);
});
afterEach(async () => {
  sink.close();
  await dir.remove();
});

const inZone = (id: string, timezone: string): Task => ({ ...task(id), timezone });
const output = (t: Task, startedAt: string, markdown = "hello", attempt = 1): RunOutput => ({
  task: t,
  runId: `${t.guildId}/${t.id}@${startedAt}`,
  markdown,
  scheduledFor: new Date(startedAt),
  startedAt: new Date(startedAt),
  attempt,
});
const publish = (o: RunOutput) => sink.publish?.(o, new AbortController());
const files = async (taskId: string) =>
  (await readdir(join(dir.path, "outputs", "local", taskId))).sort();
const read = (taskId: string, day: string) =>
  readFile(join(dir.path, "outputs", "local", taskId, `${day}.md`), "utf8");

describe("file sink", () => {
  it("appends each run under its marker, in the day file of the task's zone", async () => {
    const utc = inZone("utc", "UTC");
    const tokyo = inZone("tokyo", "Asia/Tokyo");
    // The same instant, a different day in each zone: a day kept per second alone would mix them.
    await publish(output(utc, "2026-11-28T23:30:00.100Z", "one"));
    await publish(output(tokyo, "2026-11-28T23:30:00.200Z", "two"));
    await publish(output(utc, "2026-11-28T23:30:00.300Z", "three\n", 2));
    expect(await files("utc")).toEqual(["2026-11-28.md"]);
    expect(await files("tokyo")).toEqual(["2026-11-29.md"]);
    expect(await read("utc", "2026-11-28")).toBe(
      "<!-- run local/utc@2026-11-28T23:30:00.100Z · attempt 1 · started 2026-11-28T23:30:00.100Z -->\none\n\n" +
        "<!-- run local/utc@2026-11-28T23:30:00.300Z · attempt 2 · started 2026-11-28T23:30:00.300Z -->\nthree\n\n",
    );
  });

  it("moves to the next day's file at the zone's midnight, to the millisecond", async () => {
    const paris = inZone("paris", "Europe/Paris"); // UTC+1 in winter
    await publish(output(paris, "2026-11-28T22:59:59.998Z", "before"));
    await publish(output(paris, "2026-11-28T22:59:59.999Z", "still before"));
    await publish(output(paris, "2026-11-28T23:00:00.000Z", "after"));
    await publish(output(paris, "2026-11-28T22:59:59.999Z", "back (a clock stepped back)"));
    expect(await files("paris")).toEqual(["2026-11-28.md", "2026-11-29.md"]);
    expect(await read("paris", "2026-11-28")).toContain("back (a clock stepped back)");
    expect(await read("paris", "2026-11-29")).toMatch(/-->\nafter\n\n$/);
  });

  it("writes text past ASCII whole", async () => {
    const t = inZone("emoji", "UTC");
    const text = `résumé ✓ 🚀 ${"ü".repeat(5000)}`;
    await publish(output(t, "2026-11-28T10:00:00.000Z", text));
    expect(await read("emoji", "2026-11-28")).toMatch(new RegExp(`-->\\n${text}\\n\\n$`));
  });

  it("saves a handler's own file (saveAs) where outputPath says", async () => {
    const t = inZone("brief", "UTC");
    const o = { ...output(t, "2026-11-28T10:00:00.000Z", "# Briefing"), saveAs: "briefings/x.md" };
    await publish(o);
    expect(outputPath(dir.path, o)).toBe(join(dir.path, "briefings", "local", "x.md"));
    expect(await readFile(outputPath(dir.path, o), "utf8")).toBe("# Briefing\n");
  });
});

describe("dayIn", () => {
  it("is the zone's date, as zonedParts says, around midnights and clock changes", () => {
    const zones = [
      "UTC",
      "Europe/Paris",
      "America/New_York",
      "Asia/Kathmandu", // +05:45
      "Australia/Lord_Howe", // a half-hour DST shift
      "Pacific/Apia", // skipped 2011-12-30 whole
      "Africa/Monrovia", // -00:44:30 until 1972
    ];
    const instants: number[] = [];
    const around = (base: number) => {
      for (const d of [-1001, -1000, -1, 0, 1, 999, 1000]) instants.push(base + d);
    };
    for (const at of ["1971-06-01", "2011-12-29", "2011-12-30", "2026-03-29", "2026-11-01"]) {
      const midnight = Date.parse(`${at}T00:00:00Z`);
      // Every quarter hour of two days.
      for (let q = -96; q <= 96; q++) around(midnight + q * 900_000);
    }
    // Monrovia's midnight in 1971, 00:44:30 UTC: every second of the minutes around it.
    for (let s = -120; s <= 120; s++) around(Date.parse("1971-06-01T00:44:30Z") + s * 1000);
    const wrong: string[] = [];
    for (const zone of zones) {
      for (const ms of instants) {
        const day = dayIn(new Date(ms), zone);
        if (day !== zonedParts(ms, zone).date)
          wrong.push(`${new Date(ms).toISOString()} in ${zone}: ${day}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

describe("isoString", () => {
  it("is toISOString, within a second, across seconds, back and forth, any year", () => {
    const instants: number[] = [];
    for (const base of [
      0,
      -1,
      -999,
      -1000,
      -1001,
      Date.UTC(2026, 10, 28, 23, 59, 59, 990),
      8.64e15,
      -8.64e15,
      Date.UTC(10000, 0, 1) - 5,
    ]) {
      for (const d of [0, 1, 9, 10, 99, 100, 999, 1000, 1001, -1, 0, 5, -5, 2000, 0]) {
        if (Math.abs(base + d) <= 8.64e15) instants.push(base + d);
      }
    }
    for (const ms of instants) {
      expect(isoString(new Date(ms)), String(ms)).toBe(new Date(ms).toISOString());
    }
    expect(() => isoString(new Date(Number.NaN))).toThrow(RangeError);
  });
});
