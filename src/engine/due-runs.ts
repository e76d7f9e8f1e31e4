import type { Logger } from "../shared/logger.ts";
import { type Execution, runKey } from "../store/execution.ts";
import type { ExecutionRecords } from "../store/execution-records.ts";
import type { Store } from "../store/store.ts";
import type { Task } from "../tasks/model.ts";
import type { Tenant } from "../tasks/tenant.ts";
import { type Clock, isoTime } from "../time/clock.ts";
import { nextDue } from "../time/timeline.ts";
import type { RunWatch } from "./run.ts";
import type { Runner } from "./runner.ts";
import type { StartGates } from "./start-gates.ts";

// What happens to a run once it is due: skipped once by request, skipped because the last run
// still goes on, or claimed by the runner. The scheduler does this at once on one process; on
// PostgreSQL the run goes through the shared queue first, and whichever process takes it does
// this (store/pg/pg-run-queue.ts).

/** A scheduled instant of a task, as the scheduler found it due. */
export interface DueRun {
  tenant: Tenant;
  taskId: string;
  at: number;
  /** `manual`: a CLI command's run now, handed to a bot on the database. */
  trigger: "schedule" | "catch-up" | "manual";
}

/** A taken-over run finished, if at all, within this many of its task's last log lines. */
const RECENT_LINES = 200;

export interface DueRunsDeps {
  store: Store;
  runner: Runner;
  executionLog: ExecutionRecords;
  clock: Clock;
  log: Logger;
}

export class DueRuns {
  constructor(private readonly deps: DueRunsDeps) {}

  /**
   * The task as stored now, if this run is still one of its runs: not deleted, and (for a
   * scheduled run) not disabled, ended or rescheduled since it was found due.
   */
  current(
    { tenant, taskId, at }: Pick<DueRun, "tenant" | "taskId" | "at">,
    trigger: DueRun["trigger"],
  ): Task | undefined {
    const task = this.deps.store.task(tenant, taskId);
    if (!task) return undefined;
    if (trigger === "schedule" && nextDue(task, at - 1) !== at) return undefined;
    return task;
  }

  /**
   * A run taken from the shared queue. One taken over from a process that stopped may have
   * finished there before it could say so: the execution log tells.
   */
  async startQueued(run: DueRun, gates: StartGates, takenOver: boolean): Promise<unknown> {
    if (takenOver) {
      const task = this.current(run, run.trigger);
      if (!task || (await this.outcome(task, runKey(run.tenant, run.taskId, run.at)))) return;
      // A run taken over is late: rather than be skipped for the task's next run, which may
      // be in progress here by now, it waits for it.
      await this.deps.runner.finishing(run.tenant, run.taskId);
    }
    const task = this.current(run, run.trigger);
    if (!task) return;
    return new Promise<void>((resolve, reject) =>
      this.start(task, run.at, run.trigger, gates, { ended: resolve, failed: reject }),
    );
  }

  /** The run's last log line if the run is over (success, skipped, or its last attempt). */
  async outcome(task: Task, runId: string): Promise<Execution | null> {
    const lastAttempt = 1 + task.retry.maxRetries;
    const lines = await this.deps.executionLog.recent(task.guildId, task.id, RECENT_LINES);
    return (
      lines.find(
        (l) =>
          l.runId === runId &&
          (l.status === "success" || l.status === "skipped" || l.attempt >= lastAttempt),
      ) ?? null
    );
  }

  /**
   * Starts the run (its handler in its turn of `gates`), or logs why it is skipped; `watch`
   * hears when either is over.
   */
  start(
    task: Task,
    at: number,
    trigger: DueRun["trigger"],
    gates: StartGates,
    watch: RunWatch,
  ): void {
    const { store } = this.deps;
    if (task.skipNext && trigger === "schedule") {
      store
        .update(() => {
          const t = store.task(task.guildId, task.id);
          if (t) store.putTask({ ...t, skipNext: false });
        })
        .then(() => this.#logSkip(task, at, "skipped once by request (skipNext)"))
        .then(watch.ended, watch.failed);
      return;
    }
    if (!this.deps.runner.claim(task, trigger, at, gates, watch)) {
      this.#logSkip(task, at, "the previous run was still in progress").then(
        watch.ended,
        watch.failed,
      );
    }
  }

  async #logSkip(task: Task, at: number, reason: string): Promise<void> {
    this.deps.log.info({ taskId: task.id, reason }, `task ${task.id}: run skipped`);
    await this.deps.executionLog.append({
      ts: isoTime(this.deps.clock.now()),
      guildId: task.guildId,
      taskId: task.id,
      runId: runKey(task.guildId, task.id, at),
      scheduledFor: isoTime(at),
      attempt: 0,
      trigger: "schedule",
      status: "skipped",
      durationMs: 0,
      error: reason,
    });
  }
}
