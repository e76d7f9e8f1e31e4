import { appendFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Execution, ExecutionLog } from "../src/store/execution-log.ts";
import { tempDir } from "./support/world.ts";

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(() => dir.remove());

const entry = (i: number, taskId = "t"): Execution => ({
  ts: new Date(Date.UTC(2026, 10, 1) + i * 60_000).toISOString(),
  guildId: "local",
  taskId,
  runId: `${taskId}@${i}`,
  scheduledFor: new Date(Date.UTC(2026, 10, 1) + i * 60_000).toISOString(),
  attempt: 1,
  trigger: "schedule",
  status: "success",
  durationMs: i,
  error: i % 7 === 0 ? "x".repeat(300) : null,
});

describe("execution log", () => {
  it("reads the tail across chunk boundaries, newest last", async () => {
    const log = new ExecutionLog(join(dir.path, "logs", "executions.jsonl"));
    for (let i = 0; i < 3000; i++) await log.append(entry(i, i % 3 === 0 ? "a" : "b"));
    const since = await log.since(Date.parse(entry(2500).ts));
    expect(since.map((e) => e.durationMs)).toEqual(Array.from({ length: 500 }, (_, k) => 2500 + k));
    const recentA = await log.recent("local", "a", 4);
    expect(recentA.map((e) => e.durationMs)).toEqual([2988, 2991, 2994, 2997]);
  });

  it("skips a line torn by a crash and starts the next line cleanly", async () => {
    const file = join(dir.path, "executions.jsonl");
    await mkdir(dir.path, { recursive: true });
    await appendFile(file, `${JSON.stringify(entry(1))}\n{"ts":"2026-11-01T00:0`);
    const log = new ExecutionLog(file);
    await log.append(entry(2));
    expect((await log.since(0)).map((e) => e.durationMs)).toEqual([1, 2]);
    const lines = (await readFile(file, "utf8")).split("\n");
    expect(lines).toHaveLength(4);
    expect(JSON.parse(lines[2] as string).durationMs).toBe(2);
  });
});
