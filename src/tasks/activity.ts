import type { Execution } from "../store/execution.ts";

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

/**
 * Counts runs from attempt lines fed newest first, as a log is read from its end: a run counts
 * once, with the status of its last attempt. Memory grows with tasks and with runs retried
 * across the window's edge, not with the lines read.
 */
export class ActivityTally {
  readonly #byTask = new Map<string, TaskActivity>();
  /** Runs whose last attempt is counted, while their earlier attempts are still to come. */
  readonly #counted = new Set<string>();

  add(e: Execution): void {
    if (this.#counted.has(e.runId)) {
      if (e.attempt <= 1) this.#counted.delete(e.runId);
      return;
    }
    if (e.attempt > 1) this.#counted.add(e.runId);
    let a = this.#byTask.get(e.taskId);
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
      this.#byTask.set(e.taskId, a);
    }
    a.runs++;
    if (e.status === "success") a.succeeded++;
    else if (e.status === "skipped") a.skipped++;
    else {
      a.failed++;
      if (a.lastError === null || e.ts > a.lastAt) a.lastError = e.error ?? e.status;
    }
    if (e.ts > a.lastAt) a.lastAt = e.ts;
  }

  /** Adds a tally kept earlier (a day's summary). */
  merge(activity: readonly TaskActivity[]): void {
    for (const b of activity) {
      const a = this.#byTask.get(b.taskId);
      if (!a) {
        this.#byTask.set(b.taskId, { ...b });
        continue;
      }
      a.runs += b.runs;
      a.succeeded += b.succeeded;
      a.failed += b.failed;
      a.skipped += b.skipped;
      if (b.lastError !== null && (a.lastError === null || b.lastAt > a.lastAt))
        a.lastError = b.lastError;
      if (b.lastAt > a.lastAt) a.lastAt = b.lastAt;
    }
  }

  /** One entry per task, busiest first. */
  result(): TaskActivity[] {
    return [...this.#byTask.values()].sort(
      (x, y) => y.runs - x.runs || x.taskId.localeCompare(y.taskId),
    );
  }
}

/** One entry per task, busiest first, from attempt lines oldest first. */
export function summarizeActivity(executions: readonly Execution[]): TaskActivity[] {
  const tally = new ActivityTally();
  for (let i = executions.length - 1; i >= 0; i--) tally.add(executions[i] as Execution);
  return tally.result();
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
