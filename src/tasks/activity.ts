import type { Execution } from "../store/execution-log.ts";

// Turns attempt lines from the execution log into runs per task, for the briefing and reviews.

export interface TaskActivity {
  taskId: string;
  runs: number;
  succeeded: number;
  failed: number;
  skipped: number;
  lastError: string | null;
  lastAt: string;
}

/** One entry per task, busiest first; a run counts once, with the status of its last attempt. */
export function summarizeActivity(executions: readonly Execution[]): TaskActivity[] {
  const lastAttempt = new Map<string, Execution>();
  for (const e of executions) {
    const seen = lastAttempt.get(e.runId);
    if (!seen || e.attempt >= seen.attempt) lastAttempt.set(e.runId, e);
  }
  const byTask = new Map<string, TaskActivity>();
  for (const e of lastAttempt.values()) {
    let a = byTask.get(e.taskId);
    if (!a) {
      a = {
        taskId: e.taskId,
        runs: 0,
        succeeded: 0,
        failed: 0,
        skipped: 0,
        lastError: null,
        lastAt: e.ts,
      };
      byTask.set(e.taskId, a);
    }
    a.runs++;
    if (e.status === "success") a.succeeded++;
    else if (e.status === "skipped") a.skipped++;
    else {
      a.failed++;
      if (e.ts >= a.lastAt || a.lastError === null) a.lastError = e.error ?? e.status;
    }
    if (e.ts > a.lastAt) a.lastAt = e.ts;
  }
  return [...byTask.values()].sort((x, y) => y.runs - x.runs || x.taskId.localeCompare(y.taskId));
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** "Thursday, 26 November 2026" in the given zone. */
export function longDate(ms: number, zone: string): string {
  return new Intl.DateTimeFormat("en-GB", {
    timeZone: zone,
    weekday: "long",
    day: "numeric",
    month: "long",
    year: "numeric",
  }).format(new Date(ms));
}

/** One line per task: "`backup`: 3 runs, 2 succeeded, 1 failed — disk full". */
export function activityLines(activity: readonly TaskActivity[]): string[] {
  return activity.map((a) => {
    const parts = [plural(a.runs, "run")];
    if (a.failed === 0 && a.skipped === 0) parts.push(a.runs === 1 ? "succeeded" : "all succeeded");
    else {
      if (a.succeeded) parts.push(`${a.succeeded} succeeded`);
      if (a.failed) parts.push(`**${a.failed} failed**`);
      if (a.skipped) parts.push(`${a.skipped} skipped`);
    }
    const error = a.failed && a.lastError ? ` — ${oneLine(a.lastError, 120)}` : "";
    return `- \`${a.taskId}\`: ${parts.join(", ")}${error}`;
  });
}

export function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
