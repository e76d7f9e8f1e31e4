import type { Task } from "../tasks/model.ts";
import { dstNote, lastRunBetween, nextRunAfter } from "./runs.ts";

// A task's timeline: when it runs next, with every limit applied (enabled, skipNext, maxRuns,
// until, catch-up), the way croner applies maxRuns inside its own class. The scheduler, the
// service (list, show, add and edit replies), the alerts and the CLI all ask here, so they
// give one answer.

export interface PlannedRun {
  at: number;
  /** Set when a daylight-saving change moves this run off its wall-clock time. */
  dstNote: string | null;
  /** The run `skipNext` drops: it comes due, is logged as skipped, and does not count. */
  skipped: boolean;
}

/** The task's next `count` runs strictly after `afterMs` (fewer when it ends). */
export function taskRuns(task: Task, afterMs: number, count: number): PlannedRun[] {
  const runs: PlannedRun[] = [];
  if (!task.enabled || task.suspended) return runs;
  let left =
    task.maxRuns === null ? Number.POSITIVE_INFINITY : task.maxRuns - task.history.totalRuns;
  const until = task.until === null ? Number.POSITIVE_INFINITY : Date.parse(task.until);
  let skip = task.skipNext;
  for (let ref = afterMs; runs.length < count && left > 0; ) {
    const at = nextRunAfter(task.schedule, task.timezone, ref);
    if (at === null || at > until) break;
    runs.push({ at, dstNote: dstNote(task.schedule, task.timezone, at), skipped: skip });
    if (!skip) left--;
    skip = false;
    ref = at;
  }
  return runs;
}

/**
 * The instant the task comes due next after `afterMs` (a skipped run too: it still comes due),
 * or null: disabled, ended by maxRuns or until, or no more runs. The hot path of taskRuns.
 */
export function nextDue(task: Task, afterMs: number): number | null {
  if (!task.enabled || task.suspended) return null;
  if (task.maxRuns !== null && task.history.totalRuns >= task.maxRuns) return null;
  const next = nextRunAfter(task.schedule, task.timezone, afterMs);
  if (next === null) return null;
  if (task.until !== null && next > Date.parse(task.until)) return null;
  return next;
}

/** The next run that will really happen (not one skipNext drops), or null. */
export function nextRealRun(task: Task, afterMs: number): number | null {
  // By nextDue, not taskRuns: lists ask this for every task, and need no DST notes. A skipped
  // run does not count towards maxRuns, so the run after it is simply the next one due.
  const first = nextDue(task, afterMs);
  return first === null || !task.skipNext ? first : nextDue(task, first);
}

/**
 * A run missed while stopped, to make up once at start: the latest instant in the window
 * (after `sinceMs`, which is also after the task's last change) up to `nowMs`, or null. With
 * `catchUp: "skip"` a task just waits for its next run. `next` is the task's next run when the
 * check found it on the way (most often nothing was missed), to spare the caller a search.
 */
export function catchUpRun(
  task: Task,
  sinceMs: number,
  nowMs: number,
): { missed: number | null; next?: number | null } {
  if (task.catchUp !== "once" || !task.enabled || task.suspended) return { missed: null };
  const since = Math.max(sinceMs, Date.parse(task.updatedAt));
  const first = nextDue(task, since);
  if (first === null || first > nowMs) return { missed: null, next: first };
  const missed = lastRunBetween(task.schedule, task.timezone, since, nowMs);
  if (missed === null || nextDue(task, missed - 1) !== missed) return { missed: null };
  return { missed };
}

/**
 * Whether a change to a task can change its timeline: the fields the functions above read. A
 * run's history changes it only when maxRuns counts runs.
 */
/**
 * By value: a task read back from PostgreSQL (another process's bookkeeping) is all new
 * objects, and taking its schedule for a changed one would move the task's slot to after
 * "now", losing an instant that is due and whose timer has not fired yet.
 */
function sameSchedule(a: Task["schedule"], b: Task["schedule"]): boolean {
  if (a === b) return true;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = Object.keys(x);
  if (keys.length !== Object.keys(y).length) return false;
  // Flat objects: strings, numbers, and a list of days.
  return keys.every((k) => String(x[k]) === String(y[k]));
}

export function timelineChanged(before: Task | undefined, after: Task | undefined): boolean {
  if (!before || !after) return before !== after;
  return (
    !sameSchedule(before.schedule, after.schedule) ||
    before.timezone !== after.timezone ||
    before.enabled !== after.enabled ||
    before.suspended !== after.suspended ||
    before.skipNext !== after.skipNext ||
    before.maxRuns !== after.maxRuns ||
    before.until !== after.until ||
    before.catchUp !== after.catchUp ||
    (after.maxRuns !== null && before.history.totalRuns !== after.history.totalRuns)
  );
}
