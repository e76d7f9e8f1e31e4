import { addRun, type Task } from "../tasks/model.ts";
import { recordKey } from "../tasks/tenant.ts";
import type { Execution } from "./execution.ts";
import type { ExecutionRecords } from "./execution-records.ts";
import type { Store } from "./store.ts";

// History counters are a summary of the execution log, which is written first: a run's counters
// reach db.json a moment after its log line, so a crash in between loses them. At start, the
// runs the log has after each task's `lastRunId` are added back, and a `maxRuns` task that ran
// before the crash does not run again.

/** Clock steps and slow runs: how far before the newest counted run a lost one may end. */
const SLACK_MS = 10 * 60_000;

/**
 * `settledBefore`: lines from this instant on are left out. Processes sharing a database write
 * a run's counters a moment after its line (DEFER_MS, longer if they lose a write to another
 * process): a process starting beside them must not count those runs too.
 */
export async function rebuildHistory(
  store: Store,
  log: ExecutionRecords,
  settledBefore = Number.POSITIVE_INFINITY,
): Promise<number> {
  const tasks = store.data.tasks;
  if (!tasks.length) return 0;
  // Worked out at the log's first line: a new install's empty log (100,000 tasks) costs nothing.
  let newest = 0;
  let byKey: Map<string, Task> | undefined;
  const reached = new Set<string>();
  /** Each task's runs after its lastRunId, newest first: each run's last attempt. */
  const lost = new Map<Task, Execution[]>();
  const seen = new Set<string>();
  await log.readBackwards((e) => {
    if (!byKey) {
      byKey = new Map(tasks.map((t) => [recordKey(t.guildId, t.id), t]));
      // A lost run's line ends after the store's last write, so after the newest run it counted.
      newest = tasks.reduce(
        (max, t) => Math.max(max, t.history.lastRunAt ? Date.parse(t.history.lastRunAt) : 0),
        0,
      );
    }
    if (newest && Date.parse(e.ts) < newest - SLACK_MS) return false;
    if (Date.parse(e.ts) >= settledBefore) return true;
    const key = recordKey(e.guildId, e.taskId);
    const task = byKey.get(key);
    if (!task || reached.has(key) || e.status === "skipped") return true;
    if (e.runId === task.history.lastRunId) {
      reached.add(key);
      return reached.size < byKey.size;
    }
    // Counters from before lastRunId was kept cannot say which runs they hold: left as they are.
    if (task.history.lastRunId === null && task.history.totalRuns > 0) return true;
    if (!seen.has(e.runId)) {
      seen.add(e.runId);
      lost.set(task, [...(lost.get(task) ?? []), e]);
    }
    return true;
  });
  if (!lost.size) return 0;
  await store.update(() => {
    for (const [task, runs] of lost) {
      let history = task.history;
      for (const e of runs.reverse()) {
        const started = Date.parse(e.ts) - e.durationMs;
        history = addRun(history, e, started);
      }
      store.putTask({ ...task, history });
    }
  });
  return lost.size;
}
