import type { Logger } from "../shared/logger.ts";
import { addRun, isFailing, type Task } from "../tasks/model.ts";
import { nextRealRun } from "../time/timeline.ts";
import type { RunnerDeps, RunResult } from "./runner.ts";

/**
 * After a run: its history counters, then an alert on the first failure of an incident, or a
 * recovery note. The counters change in memory at once, and reach disk with the next store write (at most
 * DEFER_MS later): the execution log, appended before this, is the record of the run, and
 * waiting for a db.json write per run would make every run pay for the whole file.
 */
export function recordRun(
  deps: Pick<RunnerDeps, "store" | "log" | "clock" | "sinks">,
  { guildId, id: taskId }: Task,
  result: RunResult,
  {
    startedAt: startedMs,
    scheduledFor,
    alert,
  }: { startedAt: number; scheduledFor: number; alert: boolean },
): Promise<void> {
  const { store, log } = deps;
  const failed = result.status !== "success";
  let before: { wasBroken: boolean; task: Task | null } | undefined;
  try {
    const { result: previous, written } = store.updateSoon(() => {
      const task = store.task(guildId, taskId);
      if (!task) return undefined;
      const wasBroken = isFailing(task.history);
      store.putTask({ ...task, history: addRun(task.history, result, startedMs) });
      // The task as it was, for the sinks: stored tasks are replaced, never changed.
      return { wasBroken, task: failed !== wasBroken ? task : null };
    });
    before = previous;
    whenUnsaved(written, log, taskId);
  } catch (err) {
    unsaved(err, log, taskId);
  }
  // Nearly every run ends here: no promise of its own (an async function's) to make and settle.
  if (!before?.task || !alert) return RECORDED;
  return tellSinks(
    deps,
    result,
    scheduledFor,
    failed,
    before as { wasBroken: boolean; task: Task },
  );
}

const RECORDED = Promise.resolve();

/** The alert on the first failure of an incident, or the recovery note. */
async function tellSinks(
  deps: Pick<RunnerDeps, "store" | "log" | "clock" | "sinks">,
  result: RunResult,
  scheduledFor: number,
  failed: boolean,
  before: { wasBroken: boolean; task: Task },
): Promise<void> {
  const { store, log, clock } = deps;
  const { guildId, id: taskId } = before.task;
  const recorded = store.task(guildId, taskId);
  const next = recorded ? nextRealRun(recorded, clock.now()) : null;
  for (const sink of deps.sinks) {
    try {
      if (failed && !before.wasBroken) {
        await sink.alert?.({
          task: before.task,
          runId: result.runId,
          error: result.error ?? result.status,
          attempts: result.attempts,
          scheduledFor: new Date(scheduledFor),
          nextRun: next === null ? null : new Date(next),
        });
      } else if (!failed && before.wasBroken) {
        await sink.recovered?.(before.task, result.runId);
      }
    } catch (err) {
      log.error({ err, taskId, sink: sink.name }, "an alert could not be delivered");
    }
  }
}

function unsaved(err: unknown, log: Logger, taskId: string): void {
  log.error({ err, taskId }, "could not save the run's history; the execution log still has it");
}

/** The runs waiting for the same write (updateSoon hands them one promise), and their loggers. */
let waiting: { written: Promise<void>; runs: { log: Logger; taskId: string }[] } | null = null;

/**
 * Logs `unsaved` for this run if its history's write fails. The runs of one write are told
 * through one handler on its promise, not one each: a thousand runs a second would each keep a
 * handler and a promise alive until the write.
 */
function whenUnsaved(written: Promise<void>, log: Logger, taskId: string): void {
  if (waiting?.written === written) {
    waiting.runs.push({ log, taskId });
    return;
  }
  const runs = [{ log, taskId }];
  waiting = { written, runs };
  written.then(
    () => {
      if (waiting?.runs === runs) waiting = null;
    },
    (err: unknown) => {
      if (waiting?.runs === runs) waiting = null;
      for (const run of runs) unsaved(err, run.log, run.taskId);
    },
  );
}
