import { createWriteStream } from "node:fs";
import { mkdir, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import dailyBriefing from "../handlers/daily-briefing.ts";
import { createApp } from "../src/app.ts";
import { DeliveryJournal } from "../src/discord/delivery-journal.ts";
import { createFileSink } from "../src/outputs/file-sink.ts";
import { type Execution, runKey } from "../src/store/execution.ts";
import { ExecutionLog } from "../src/store/execution-log.ts";
import { Retention } from "../src/store/retention.ts";
import { makeTask, noopHandler, writeDataDir } from "./fixtures.ts";
import { benchConfig, type Dist, dist, fileLog, tempDir } from "./lib.ts";
import { devNullLogger } from "./logger.ts";

// Data over time: reads that must not grow with the log, and a disk that must not grow with the
// days. The logs are written as an earlier version left them (one executions.jsonl) and split
// into day files by opening them once, before anything is timed.

const DAY = 86_400_000;

export interface HistoryArgs {
  /** Lines of other tasks written after the weekly task's ten. */
  others: number;
  samples: number;
}

export interface HistoryResult {
  /** ms per `history` call (ten attempts shown), one distribution over all samples. */
  ms: Dist;
  /** Bytes read from the log per call. */
  bytesPerCall: number;
}

function line(at: number, taskId: string, failed = false): string {
  const ts = new Date(at).toISOString();
  const e: Execution = {
    ts,
    guildId: "local",
    taskId,
    runId: runKey("local", taskId, at - 5),
    scheduledFor: new Date(at - 5).toISOString(),
    attempt: 1,
    trigger: "schedule",
    status: failed ? "failure" : "success",
    durationMs: 12,
    error: failed ? "upstream returned 503" : null,
  };
  return `${JSON.stringify(e)}\n`;
}

/** Writes `n` lines from `gen(i)` to <dir>/logs/executions.jsonl, in chunks. */
export async function writeLog(dir: string, n: number, gen: (i: number) => string): Promise<void> {
  await mkdir(join(dir, "logs"), { recursive: true });
  const out = createWriteStream(join(dir, "logs", "executions.jsonl"));
  let chunk = "";
  for (let i = 0; i < n; i++) {
    chunk += gen(i);
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await new Promise<void>((r) => out.once("drain", () => r()));
      chunk = "";
    }
  }
  await new Promise<void>((resolve, reject) => out.end(chunk, () => resolve()).on("error", reject));
}

/**
 * `history` of a weekly task whose ten runs are the oldest lines of the log, with `others`
 * lines of 1,000 other tasks after them (1,000 runs a minute): the service's whole call, in
 * process, clock started before it and stopped when it resolves.
 */
export async function historyChild(a: HistoryArgs): Promise<HistoryResult> {
  const dir = await tempDir();
  const now = Date.now();
  const weekly = makeTask(
    "weekly",
    { type: "weekly", days: ["mon"], time: "09:00" },
    "UTC",
    now - 80 * DAY,
  );
  await writeDataDir(dir.path, { tasks: [weekly] });
  const busyStart = now - a.others * 60;
  await writeLog(dir.path, 10 + a.others, (i) =>
    i < 10
      ? line(now - 75 * DAY + i * 7 * DAY, "weekly")
      : line(busyStart + (i - 10) * 60, `task-${i % 1000}`),
  );
  const app = await createApp({
    config: benchConfig(dir.path),
    log: devNullLogger(),
    handlers: [noopHandler()],
  });
  await app.executionLog.since(now); // the one-time split into day files
  const ms: number[] = [];
  const bytesBefore = fileLog(app).bytesRead;
  for (let i = 0; i < a.samples; i++) {
    const t = performance.now();
    const h = await app.service.history("local", "weekly", 10);
    ms.push(performance.now() - t);
    if (h.recent.length !== 10) throw new Error(`history found ${h.recent.length} of 10`);
  }
  const bytesPerCall = (fileLog(app).bytesRead - bytesBefore) / a.samples;
  await app.close();
  await dir.remove();
  return { ms: dist(ms), bytesPerCall };
}

export interface GapArgs {
  lines: number;
  samples: number;
}

export interface GapResult {
  ms: Dist;
  /** RSS after the briefings minus RSS before the first, in MB. */
  rssGrowthMb: number;
  /** Lines in the briefing's (bounded) window. */
  inWindow: number;
}

/**
 * The daily briefing (runNow, dry run) whose last success was six months back, on a log of
 * `lines` lines spread evenly over those six months (200 tasks).
 */
export async function gapChild(a: GapArgs): Promise<GapResult> {
  const dir = await tempDir();
  const now = Date.now();
  const span = 182 * DAY;
  const task = makeTask("briefing", { type: "daily", time: "08:00" }, "UTC", now - span - DAY);
  const last = new Date(now - span).toISOString();
  await writeDataDir(dir.path, {
    tasks: [
      {
        ...task,
        handler: "daily-briefing",
        history: {
          ...task.history,
          lastRunAt: last,
          lastSuccessAt: last,
          totalRuns: 1,
          successCount: 1,
        },
      },
    ],
  });
  await writeLog(dir.path, a.lines, (i) =>
    line(now - span + Math.floor((i / a.lines) * span), `task-${i % 200}`, i % 20 === 0),
  );
  const app = await createApp({
    config: benchConfig(dir.path, 60, 0),
    log: devNullLogger(),
    handlers: [dailyBriefing, noopHandler()],
  });
  await app.executionLog.since(now); // the one-time split into day files
  const inWindow = (await app.executionLog.since(now - 7 * DAY)).length;
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let rssMax = rssBefore;
  const ms: number[] = [];
  for (let i = 0; i < a.samples; i++) {
    const t = performance.now();
    const r = await app.service.runNow("local", "briefing", { dryRun: true });
    ms.push(performance.now() - t);
    if (r.status !== "success") throw new Error(`briefing failed: ${r.error}`);
    if (!r.output?.includes("not shown")) throw new Error("the briefing did not bound its window");
    rssMax = Math.max(rssMax, process.memoryUsage().rss);
  }
  await app.close();
  await dir.remove();
  return { ms: dist(ms), rssGrowthMb: (rssMax - rssBefore) / 1024 / 1024, inWindow };
}

export interface DiskArgs {
  days: number;
  runsPerMinute: number;
  retentionDays: number;
}

export interface DiskResult {
  /** Bytes under logs/ and outputs/ at the end of each simulated day, after the daily cleanup. */
  bytesPerDay: number[];
  /** The most bytes one simulated day wrote. */
  dayVolume: number;
}

/**
 * `days` simulated days: each run writes its log line, its output file and its two delivery
 * records through the real writers, stamped with simulated time; retention runs once a day.
 */
export async function diskChild(a: DiskArgs): Promise<DiskResult> {
  const dir = await tempDir();
  const start = Date.parse("2026-01-01T00:00:00Z");
  let now = start;
  const log = new ExecutionLog(join(dir.path, "logs", "executions"));
  const journal = new DeliveryJournal(join(dir.path, "logs", "deliveries"), "local", () => now);
  const files = createFileSink(dir.path);
  const retention = new Retention({
    dataDir: dir.path,
    executionLog: log,
    deliveries: journal,
    now: () => now,
    retentionDays: a.retentionDays,
  });
  const task = makeTask("pulse", { type: "interval", every: 1, unit: "minutes" }, "UTC", start);
  const bytesPerDay: number[] = [];
  let dayVolume = 0;
  let kept = 0;
  const onDisk = async () =>
    (await bytesUnder(join(dir.path, "logs"))) + (await bytesUnder(join(dir.path, "outputs")));
  const step = 60_000 / a.runsPerMinute;
  for (let d = 0; d < a.days; d++) {
    for (let t = 0; t < DAY; t += step) {
      now = start + d * DAY + t;
      const runId = runKey("local", "pulse", now);
      const e = JSON.parse(line(now, "pulse")) as Execution;
      const markdown = `pulse at ${new Date(now).toISOString()}`;
      await files.publish?.(
        {
          task,
          runId,
          markdown,
          scheduledFor: new Date(now),
          startedAt: new Date(now),
          attempt: 1,
        },
        new AbortController(),
      );
      await journal.mark(runId, "pulse", "posting", "c");
      await journal.mark(runId, "pulse", "posted", "c");
      await log.append(e);
    }
    dayVolume = Math.max(dayVolume, (await onDisk()) - kept);
    now = start + (d + 1) * DAY;
    await retention.cleanup();
    kept = await onDisk();
    bytesPerDay.push(kept);
  }
  await log.close();
  files.close();
  await dir.remove();
  return { bytesPerDay, dayVolume };
}

async function bytesUnder(path: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(path, { withFileTypes: true }).catch(() => [])) {
    const p = join(path, entry.name);
    total += entry.isDirectory() ? await bytesUnder(p) : (await stat(p)).size;
  }
  return total;
}
