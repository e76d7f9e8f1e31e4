import { appendFile, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Execution } from "../src/store/execution.ts";
import { ExecutionLog } from "../src/store/execution-log.ts";
import { summarizeActivity } from "../src/tasks/activity.ts";
import { tempDir } from "./support/world.ts";

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  dir = await tempDir();
});
const opened: ExecutionLog[] = [];
afterEach(async () => {
  for (const log of opened.splice(0)) await log.close();
  await dir.remove();
});
/** A log closed after the test. */
const openLog = (path: string, tenant?: string) => {
  const log = new ExecutionLog(path, tenant);
  opened.push(log);
  return log;
};

const START = Date.UTC(2026, 10, 1);
const entry = (i: number, taskId = "t", stepMs = 60_000, extra: Partial<Execution> = {}) => {
  const ts = new Date(START + i * stepMs).toISOString();
  return {
    ts,
    guildId: "local",
    taskId,
    runId: `local/${taskId}@${ts}`,
    scheduledFor: ts,
    attempt: 1,
    trigger: "schedule",
    status: "success",
    durationMs: i,
    error: i % 7 === 0 ? "x".repeat(300) : null,
    ...extra,
  } satisfies Execution;
};
const logDir = () => join(dir.path, "logs", "executions");

describe("execution log", () => {
  it("reads the tail across chunk boundaries and day files, newest last", async () => {
    const log = openLog(logDir());
    // 3,000 minutes: three day files.
    for (let i = 0; i < 3000; i++) await log.append(entry(i, i % 3 === 0 ? "a" : "b"));
    expect(await readdir(logDir())).toEqual(
      expect.arrayContaining(["2026-11-01.jsonl", "2026-11-02.jsonl", "2026-11-03.jsonl"]),
    );
    const since = await log.since(Date.parse(entry(2500).ts));
    expect(since.map((e) => e.durationMs)).toEqual(Array.from({ length: 500 }, (_, k) => 2500 + k));
    const recentA = await log.recent("local", "a", 4);
    expect(recentA.map((e) => e.durationMs)).toEqual([2988, 2991, 2994, 2997]);
    // Following a task's own lines back crosses days.
    const all = await log.recent("local", "a", 1000);
    expect(all.map((e) => e.durationMs)).toEqual(Array.from({ length: 1000 }, (_, k) => 3 * k));
  });

  it("skips a line torn by a crash and starts the next line cleanly", async () => {
    await mkdir(logDir(), { recursive: true });
    const file = join(logDir(), "2026-11-01.jsonl");
    await appendFile(file, `${JSON.stringify(entry(1))}\n{"ts":"2026-11-01T00:0`);
    const log = openLog(logDir());
    await log.append(entry(2));
    expect((await log.since(0)).map((e) => e.durationMs)).toEqual([1, 2]);
    const lines = (await readFile(file, "utf8")).split("\n");
    expect(lines).toHaveLength(4);
    expect(JSON.parse(lines[2] as string).durationMs).toBe(2);
    expect((await log.recent("local", "t", 5)).map((e) => e.durationMs)).toEqual([1, 2]);
  });

  it("reads a weekly task's history by its own lines: the bytes read do not grow with the log", async () => {
    const history = async (others: number) => {
      const path = join(dir.path, `log-${others}`);
      const log = openLog(path);
      // The weekly task's ten runs come first; then every other line of the log.
      for (let w = 0; w < 10; w++) await log.append(entry(w * 7 * 1440, "weekly"));
      const busy = Array.from({ length: others }, (_, k) =>
        entry(70 * 1440 + k, `busy-${k % 50}`, 60_000),
      );
      await Promise.all(busy.map((e) => log.append(e)));
      await log.close();
      const reopened = openLog(path);
      const recent = await reopened.recent("local", "weekly", 10);
      expect(recent.map((e) => e.durationMs)).toEqual(
        Array.from({ length: 10 }, (_, w) => w * 7 * 1440),
      );
      return reopened.bytesRead;
    };
    const small = await history(10);
    const big = await history(50_000);
    expect(small).toBeGreaterThan(0);
    expect(big).toBe(small);
  });

  it("after a crash (positions not saved) finds each task's newest line again", async () => {
    const log = openLog(logDir());
    for (let i = 0; i < 50; i++) await log.append(entry(i, i % 2 ? "odd" : "even"));
    await log.close();
    const next = openLog(logDir());
    for (let i = 50; i < 60; i++) await next.append(entry(i, i % 2 ? "odd" : "even"));
    // No close: heads.json is from before these ten lines.
    const after = openLog(logDir());
    expect((await after.recent("local", "odd", 3)).map((e) => e.durationMs)).toEqual([55, 57, 59]);
    expect((await after.recent("local", "even", 30)).map((e) => e.durationMs)).toHaveLength(30);
  });

  it("splits a single executions.jsonl from before into day files, once, losing no line", async () => {
    await mkdir(join(dir.path, "logs"), { recursive: true });
    const legacy = join(dir.path, "logs", "executions.jsonl");
    const old = { ...entry(5, "t"), runId: "t@5" } as Partial<Execution>;
    delete old.guildId; // a line from before servers were tenants
    const lines = [
      JSON.stringify(entry(1)),
      JSON.stringify(old),
      "not json",
      JSON.stringify(entry(2000)),
    ];
    await writeFile(legacy, `${lines.join("\n")}\n{"torn`);
    const log = openLog(logDir(), "123");
    const read = await log.since(0);
    expect(read.map((e) => [e.guildId, e.runId.split("@")[0]])).toEqual([
      ["local", "local/t"],
      ["123", "123/t"],
      ["local", "local/t"],
    ]);
    expect((await log.recent("local", "t", 5)).map((e) => e.durationMs)).toEqual([1, 2000]);
    expect((await log.recent("123", "t", 5)).map((e) => e.durationMs)).toEqual([5]);
    const names = await readdir(join(dir.path, "logs"));
    expect(names).toEqual(["executions"]);
    const kept = await readFile(join(logDir(), "2026-11-01.jsonl"), "utf8");
    expect(kept).toContain("not json");
  });

  it("tallies whole days from their summaries, with the same counts as reading every line", async () => {
    const log = openLog(logDir());
    const written: Execution[] = [];
    for (let i = 0; i < 6 * 24 * 6; i++) {
      const failed = i % 5 === 0;
      const e = entry(
        i,
        `task-${i % 4}`,
        10 * 60_000,
        failed ? { status: "failure", error: `e${i}` } : {},
      );
      written.push(e);
      await log.append(e);
      // A failed run retried: counted once, as its last attempt.
      if (failed) {
        const retry = {
          ...e,
          attempt: 2,
          trigger: "retry" as const,
          status: "success" as const,
          error: null,
        };
        written.push(retry);
        await log.append(retry);
      }
    }
    const since = START + 3 * 3_600_000;
    const until = START + 5 * 86_400_000 + 7 * 3_600_000;
    const inWindow = written.filter((e) => Date.parse(e.ts) >= since && Date.parse(e.ts) < until);
    const first = await log.activity("local", since, until);
    expect(first).toEqual(summarizeActivity(inWindow));
    expect((await readdir(logDir())).filter((n) => n.endsWith(".summary.json"))).toHaveLength(4);
    const before = log.bytesRead;
    expect(await log.activity("local", since, until)).toEqual(first);
    // The second read takes the four whole days from their (cached) summaries: it reads the
    // window's two partial days, not the six.
    let onDisk = 0;
    for (const n of await readdir(logDir()))
      if (n.endsWith(".jsonl")) onDisk += (await stat(join(logDir(), n))).size;
    expect(log.bytesRead - before).toBeLessThan(onDisk / 2);
    expect(await log.activity("other", since, until)).toEqual([]);
  });

  it("removes the days before a cutoff; a history then ends where the kept days begin", async () => {
    const log = openLog(logDir());
    for (let i = 0; i < 5; i++) await log.append(entry(i * 1440));
    await log.activity("local", START, START + 4 * 86_400_000);
    const dry = await log.removeBefore("2026-11-03", true);
    expect(dry.map((r) => r.path.split("/").at(-1))).toEqual([
      "2026-11-01.jsonl",
      "2026-11-01.summary.json",
      "2026-11-02.jsonl",
      "2026-11-02.summary.json",
    ]);
    expect((await log.recent("local", "t", 10)).map((e) => e.durationMs)).toHaveLength(5);
    const removed = await log.removeBefore("2026-11-03", false);
    expect(removed).toEqual(dry);
    expect((await log.recent("local", "t", 10)).map((e) => e.durationMs)).toEqual([
      2 * 1440,
      3 * 1440,
      4 * 1440,
    ]);
  });
});
