import { AlreadyRunningError } from "../shared/errors.ts";
import { runKey } from "../store/execution.ts";
import type { Task } from "../tasks/model.ts";
import type { DueRun, DueRuns } from "./due-runs.ts";
import { retryDelayMs } from "./retry.ts";
import type { RunResult } from "./runner.ts";

// "Run now" from a CLI command on PostgreSQL: handed to a bot on the database, which runs it
// as its own (posting where the task posts), and answered from the execution log.

/** The shared run queue, as a CLI command uses it (pg-run-queue.ts). */
export interface RunHandoff {
  runOnBot<T>(run: DueRun, outcome: () => Promise<T | null>, limitMs: number): Promise<T | null>;
}

/** Slack beyond the run's own limits: a bot's turn to take it, and its bookkeeping. */
const SLACK_MS = 30_000;

/** The result of the task's run at `at` by a bot, or null when no bot is connected. */
export async function runOnBot(
  handoff: RunHandoff,
  dueRuns: DueRuns,
  task: Task,
  at: number,
): Promise<RunResult | null> {
  const runId = runKey(task.guildId, task.id, at);
  const run: DueRun = { tenant: task.guildId, taskId: task.id, at, trigger: "manual" };
  const line = await handoff.runOnBot(run, () => dueRuns.outcome(task, runId), limitMs(task));
  if (!line) return null;
  if (line.status === "skipped") throw new AlreadyRunningError(task.id);
  return {
    runId,
    byBot: true,
    status: line.status,
    attempts: line.attempt,
    output: null,
    error: line.error,
    durationMs: line.durationMs,
  };
}

/** Every attempt's timeout and the longest waits between them. */
function limitMs(task: Task): number {
  let ms = SLACK_MS;
  for (let attempt = 1; attempt <= 1 + task.retry.maxRetries; attempt++) {
    ms += task.timeoutSeconds * 1000;
    if (attempt <= task.retry.maxRetries) ms += retryDelayMs(task.retry, attempt, () => 1);
  }
  return ms;
}
