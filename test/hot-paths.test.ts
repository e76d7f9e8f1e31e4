import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Execution, ExecutionSchema, toExecution } from "../src/store/execution.ts";
import { ExecutionLog } from "../src/store/execution-log.ts";
import { lineWithPrev } from "../src/store/log-folder.ts";
import { lastRunBetween, nextRunAfter } from "../src/time/runs.ts";
import type { Schedule } from "../src/time/schedule.ts";
import { makeWorld, runUntil, scriptedHandler, tempDir, type World } from "./support/world.ts";

// The fast paths behave as the plain ones did: the hand-written log line check, batched log
// appends, interval catch-up arithmetic, croner's memo, and thousands of runs due at once.

let dir: Awaited<ReturnType<typeof tempDir>>;
let world: World | undefined;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await world?.close();
  world = undefined;
  await dir.remove();
});

const entry = (i: number, extra: Partial<Execution> = {}): Execution => ({
  ts: new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString(),
  guildId: "local",
  taskId: "t",
  runId: `t@${i}`,
  scheduledFor: new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString(),
  attempt: 1,
  trigger: "schedule",
  status: "success",
  durationMs: i,
  error: null,
  ...extra,
});

describe("execution log", () => {
  it("checks a line exactly as ExecutionSchema does", () => {
    const good = entry(1);
    const cases: unknown[] = [
      good,
      { ...good, extra: "dropped" },
      { ...good, error: "boom" },
      { ...good, attempt: 0, status: "skipped", trigger: "catch-up" },
      { ...good, durationMs: 0.5 },
      { ...good, attempt: 1.5 },
      { ...good, attempt: -1 },
      { ...good, attempt: 2 ** 53 + 2 },
      { ...good, durationMs: -1 },
      { ...good, durationMs: "3" },
      { ...good, trigger: "cron" },
      { ...good, status: "ok" },
      { ...good, error: undefined },
      { ...good, error: 3 },
      { ...good, ts: 5 },
      { ...good, taskId: undefined },
      [good],
      null,
      "line",
      42,
    ];
    for (const c of cases) {
      const zod = ExecutionSchema.safeParse(c);
      const fast = toExecution(c);
      expect(fast, JSON.stringify(c)).toEqual(zod.success ? zod.data : null);
      if (fast) expect(Object.keys(fast)).toEqual(Object.keys(zod.data as object));
    }
  });

  it("keeps concurrent appends in call order, each resolved once written", async () => {
    const log = new ExecutionLog(join(dir.path, "logs", "executions"));
    const file = log.days.path("2026-11-01");
    await Promise.all(Array.from({ length: 2000 }, (_, i) => log.append(entry(i))));
    const lines = (await readFile(file, "utf8")).trim().split("\n");
    expect(lines.map((l) => JSON.parse(l).durationMs)).toEqual(
      Array.from({ length: 2000 }, (_, i) => i),
    );
    // A read waits for appends still in flight.
    const pending = log.append(entry(2000));
    expect((await log.recent("local", "t", 1))[0]?.durationMs).toBe(2000);
    await pending;
    await log.close();
  });

  it("writes a batch byte for byte as lineWithPrev says, each task's chain right, whatever the text", async () => {
    const log = new ExecutionLog(join(dir.path, "logs", "executions"));
    const errors = [null, "naïve — ✓ 🎉", "é".repeat(70_000), "lone \ud800 half", 'quote " \\ \n'];
    // Appended together (one batch after the first), so the lines share a buffer that grows.
    const written = Array.from({ length: 300 }, (_, i) =>
      entry(i, { taskId: `t${i % 7}`, error: errors[i % errors.length] ?? null }),
    );
    await Promise.all(written.map((e) => log.append(e)));
    let expected = "";
    const heads = new Map<string, string>();
    for (const e of written) {
      const line = lineWithPrev(JSON.stringify(e), heads.get(e.taskId) ?? null);
      heads.set(e.taskId, `2026-11-01:${Buffer.byteLength(expected)}`);
      expected += line;
    }
    expect(await readFile(log.days.path("2026-11-01"), "utf8")).toBe(expected);
    for (let t = 0; t < 7; t++) {
      expect(await log.recent("local", `t${t}`, 1000)).toEqual(
        written.filter((e) => e.taskId === `t${t}`),
      );
    }
    await log.close();
  });

  it("reads back lines longer than a chunk, non-ASCII text and torn lines", async () => {
    const file = join(dir.path, "executions", "2026-11-01.jsonl");
    await mkdir(join(dir.path, "executions"));
    const long = "é".repeat(70_000); // 140 KB in UTF-8: longer than the 64 KB chunk
    const written = [
      entry(0),
      entry(1, { error: long }),
      entry(2, { error: "naïve — ✓ 🎉" }),
      entry(3, { error: "x".repeat(65_530) }),
      entry(4),
    ];
    await writeFile(
      file,
      `{"torn":${written.map((e) => JSON.stringify(e)).join("\n")}\n\n{"ts":"2026-11`,
    );
    const log = new ExecutionLog(join(dir.path, "executions"));
    const seen: Execution[] = [];
    await log.readBackwards((e) => {
      seen.push(e);
      return true;
    });
    expect(seen.reverse()).toEqual(written.slice(1));
  });
});

describe("schedule", () => {
  it("finds an interval's last run between two instants as the step-by-step walk does", () => {
    const walk = (s: Schedule, since: number, at: number) => {
      let last: number | null = null;
      for (let ref = since, i = 0; i < 100_000; i++) {
        const next = nextRunAfter(s, "UTC", ref) as number;
        if (next > at) break;
        last = ref = next;
      }
      return last;
    };
    const t0 = Date.parse("2026-11-26T10:00:00Z");
    for (const s of [
      { type: "interval", every: 1, unit: "seconds" },
      { type: "interval", every: 30, unit: "minutes" },
      { type: "interval", every: 7, unit: "hours" },
    ] as Schedule[]) {
      for (const [since, at] of [
        [t0, t0],
        [t0 - 1, t0],
        [t0, t0 + 999],
        [t0 - 3_600_000, t0 + 1],
        [t0 - 86_400_000 * 3, t0 - 17],
        [t0 - 200_000_000, t0], // more than the walk's hard stop for every 1s
      ] as const) {
        expect(lastRunBetween(s, "UTC", since, at)).toBe(walk(s, since, at));
      }
    }
  });

  it("answers a repeated cron question from its memo with croner's answer", () => {
    const s: Schedule = { type: "weekly", days: ["mon", "fri"], time: "02:30" };
    const from = Date.parse("2026-03-20T00:00:00Z");
    const first = Array.from({ length: 40 }, (_, i) =>
      nextRunAfter(s, "Europe/Berlin", from + i * 43_200_000),
    );
    const again = Array.from({ length: 40 }, (_, i) =>
      nextRunAfter(s, "Europe/Berlin", from + i * 43_200_000),
    );
    expect(again).toEqual(first);
    expect(
      nextRunAfter({ type: "once", at: "2026-03-21T10:00" }, "UTC", from + 86_400_000 * 5),
    ).toBeNull();
  });
});

describe("scheduler", () => {
  it("starts 2,500 tasks due at the same instant once each, all before any run's bookkeeping", async () => {
    // What the first run to start had recorded (history, log) when each handler started.
    const seen: number[] = [];
    const h = scriptedHandler("rec", [
      () => {
        seen.push(world?.app.store.task("local", "seed")?.history.totalRuns ?? -1);
      },
    ]);
    world = await makeWorld({ start: "2026-11-26T07:59:00Z", handlers: [h], dataDir: dir.path });
    const { service, store } = world.app;
    await service.addTask("local", { id: "seed", handler: "rec", schedule: "daily 08:00" });
    const seed = service.getTask("local", "seed");
    await store.update(() => {
      for (let i = 0; i < 2500; i++) store.putTask({ ...structuredClone(seed), id: `t${i}` });
    });
    await service.setEnabled("local", "t7", false);
    await runUntil(world, "2026-11-26T08:00:30Z");
    const ids = h.calls.map((c) => c.task.id);
    expect(ids).toHaveLength(2500); // 2,499 + seed
    expect(new Set(ids).size).toBe(2500);
    expect(ids).not.toContain("t7");
    expect(h.calls.every((c) => c.scheduledFor.toISOString() === "2026-11-26T08:00:00.000Z")).toBe(
      true,
    );
    expect(service.getTask("local", "t2499").history.totalRuns).toBe(1);
    expect(seen).toHaveLength(2500);
    expect(seen.every((runs) => runs === 0)).toBe(true);
    expect(service.getTask("local", "seed").history.totalRuns).toBe(1);
  });
});
