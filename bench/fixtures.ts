import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import type { Execution } from "../src/store/execution.ts";
import { openStore } from "../src/store/store.ts";
import { defineHandler, type HandlerContext, type HandlerOutput } from "../src/tasks/handler.ts";
import {
  type Goal,
  type Reminder,
  ServerSchema,
  type Task,
  TaskSchema,
} from "../src/tasks/model.ts";
import { lastRunBetween, nextRunAfter } from "../src/time/runs.ts";
import type { Schedule } from "../src/time/schedule.ts";
import { prng } from "./lib.ts";

// The data the benchmarks run on: generated, deterministic, and written the way the store
// would read it.

/**
 * A handler that does nothing but return `output` (nothing by default); `onRun` sees each start
 * (the lag benchmark times it).
 */
export function noopHandler(
  onRun: (scheduledFor: number, ctx: HandlerContext) => void = () => {},
  output: (ctx: HandlerContext) => HandlerOutput = () => undefined,
) {
  return defineHandler({
    name: "noop",
    description: "does nothing",
    options: z.object({}),
    run(ctx) {
      onRun(ctx.scheduledFor.getTime(), ctx);
      return output(ctx);
    },
  });
}

export function makeTask(
  id: string,
  schedule: Schedule,
  timezone: string,
  createdMs: number,
): Task {
  const at = new Date(createdMs).toISOString();
  return TaskSchema.parse({
    guildId: "local",
    id,
    name: `Task ${id}`,
    handler: "noop",
    schedule,
    timezone,
    createdAt: at,
    updatedAt: at,
  });
}

/** N tasks all due together, every `seconds` (epoch-aligned, so due in the same second). */
export function intervalTasks(n: number, seconds: number, createdMs: number): Task[] {
  return Array.from({ length: n }, (_, i) =>
    makeTask(`t${i}`, { type: "interval", every: seconds, unit: "seconds" }, "UTC", createdMs),
  );
}

/** N tasks on one cron pattern, all due together (`* * * * * *`: every second). */
export function cronTasks(n: number, expression: string, createdMs: number): Task[] {
  return Array.from({ length: n }, (_, i) =>
    makeTask(`t${i}`, { type: "cron", expression }, "UTC", createdMs),
  );
}

const ZONES = [
  ["UTC", 0.4],
  ["Europe/Paris", 0.3],
  ["America/New_York", 0.2],
  ["Asia/Tokyo", 0.1],
] as const;
const DAY_SETS: Schedule[] = [];
const CRONS = [
  "0 */2 * * *",
  "30 9 * * 1-5",
  "15 8 1 * *",
  "0 12 * * 0",
  "45 17 * * 5",
  "0 0 * * *",
  "0 6,18 * * *",
  "20 */4 * * *",
  "0 9 1,15 * *",
  "10 7 * * 1",
];
for (const days of [["mon"], ["fri"], ["mon", "wed", "fri"], ["mon", "tue", "wed", "thu", "fri"]]) {
  DAY_SETS.push({ type: "weekly", days: days as never, time: "00:00" });
}

/**
 * A mix like a busy server's: a quarter each daily (times on a 15-minute grid), weekly (four day
 * sets, times on the half hour), hourly-or-slower intervals and cron expressions, over four time
 * zones. None is due within `quietMs` of `nowMs`, so nothing fires while a benchmark runs; each
 * was last changed 5 minutes before `nowMs` with no run since, so a start has nothing to catch
 * up (it still checks every task).
 */
export function mixedTasks(n: number, nowMs: number, quietMs = 15 * 60_000, seed = 1): Task[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)] as T;
  const zone = () => {
    let r = rnd();
    for (const [z, w] of ZONES) {
      r -= w;
      if (r < 0) return z;
    }
    return "UTC";
  };
  const hhmm = (stepMin: number) => {
    const m = Math.floor(rnd() * (1440 / stepMin)) * stepMin;
    return `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
  };
  const tasks: Task[] = [];
  for (let i = 0; tasks.length < n; i++) {
    const kind = i % 4;
    const tz = zone();
    let schedule: Schedule;
    if (kind === 0) schedule = { type: "daily", time: hhmm(15) };
    else if (kind === 1) schedule = { ...(pick(DAY_SETS) as Schedule), time: hhmm(30) } as Schedule;
    else if (kind === 2)
      schedule = { type: "interval", every: pick([1, 2, 3, 6, 12]), unit: "hours" };
    else schedule = { type: "cron", expression: pick(CRONS) };
    const changed = nowMs - 5 * 60_000;
    const next = nextRunAfter(schedule, tz, nowMs);
    if (next === null || next - nowMs < quietMs) continue;
    if (lastRunBetween(schedule, tz, changed - 60_000, nowMs + 60_000) !== null) continue;
    tasks.push(makeTask(`task-${String(tasks.length).padStart(5, "0")}`, schedule, tz, changed));
  }
  return tasks;
}

export function distinctPatterns(tasks: readonly Task[]): number {
  return new Set(
    tasks
      .filter((t) => t.schedule.type !== "interval")
      .map((t) => `${t.timezone} ${JSON.stringify(t.schedule)}`),
  ).size;
}

export function goals(n: number, nowMs: number): Goal[] {
  return Array.from({ length: n }, (_, i) => ({
    guildId: "local",
    id: i + 1,
    text: `Goal number ${i + 1}: ship the thing that matters this quarter`,
    createdAt: new Date(nowMs - i * 3_600_000).toISOString(),
    doneAt: i % 5 === 4 ? new Date(nowMs - 60_000).toISOString() : null,
  }));
}

export function reminders(n: number, nowMs: number): Reminder[] {
  const day = (offset: number) => new Date(nowMs + offset * 86_400_000).toISOString().slice(0, 10);
  return Array.from({ length: n }, (_, i) => ({
    guildId: "local",
    id: i + 1,
    text: `Reminder ${i + 1}: renew, reply, review`,
    due: i % 5 === 0 ? null : day((i % 21) - 7),
    createdAt: new Date(nowMs - 86_400_000).toISOString(),
    doneAt: i % 10 === 9 ? new Date(nowMs - 60_000).toISOString() : null,
  }));
}

/** `n` log lines over the `spanMs` before `nowMs`, oldest first, across `tasks` task ids. */
export function logLines(n: number, nowMs: number, spanMs: number, tasks = 200): string {
  const rnd = prng(7);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const at = nowMs - spanMs + Math.floor(((i + 1) / n) * spanMs) - 1;
    const taskId = `task-${String(i % tasks).padStart(5, "0")}`;
    const status = rnd() < 0.05 ? "failure" : "success";
    const e: Execution = {
      ts: new Date(at).toISOString(),
      guildId: "local",
      taskId,
      runId: `local/${taskId}@${new Date(at - 5).toISOString()}`,
      scheduledFor: new Date(at - 5).toISOString(),
      attempt: 1,
      trigger: "schedule",
      status,
      durationMs: Math.floor(rnd() * 50),
      error: status === "failure" ? "upstream returned 503" : null,
    };
    out.push(JSON.stringify(e));
  }
  return `${out.join("\n")}\n`;
}

/**
 * A DATA_DIR as Mission Control leaves it: the store opened, filled and closed (db.json, its
 * seal, a backup), and optionally an execution log.
 */
export async function writeDataDir(
  dir: string,
  content: { tasks?: Task[]; goals?: Goal[]; reminders?: Reminder[]; log?: string },
): Promise<void> {
  const store = await openStore({ dataDir: dir });
  await store.update((db) => {
    db.tasks = content.tasks ?? [];
    db.goals = content.goals ?? [];
    db.reminders = content.reminders ?? [];
    db.servers = [
      ServerSchema.parse({
        id: "local",
        nextGoalId: (content.goals?.length ?? 0) + 1,
        nextReminderId: (content.reminders?.length ?? 0) + 1,
      }),
    ];
  });
  await store.close();
  if (content.log !== undefined) {
    await mkdir(join(dir, "logs"), { recursive: true });
    await writeFile(join(dir, "logs", "executions.jsonl"), content.log);
  }
}
