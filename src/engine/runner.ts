import type { OutputSink } from "../outputs/sink.ts";
import {
  AlreadyRunningError,
  MissionControlError,
  NotFoundError,
  TimeoutError,
} from "../shared/errors.ts";
import { type Logger, unredacted } from "../shared/logger.ts";
import type { Execution, Trigger } from "../store/execution.ts";
import type { ExecutionRecords } from "../store/execution-records.ts";
import type { Store } from "../store/store.ts";
import { ByTask } from "../tasks/by-task.ts";
import type { HandlerRegistry, ReadAccess } from "../tasks/handler.ts";
import type { RunStatus, Task } from "../tasks/model.ts";
import type { Tenant } from "../tasks/tenant.ts";
import type { Clock } from "../time/clock.ts";
import { AttemptSet } from "./attempts.ts";
import { Run, type RunEnv, type RunWatch } from "./run.ts";
import type { StartGates } from "./start-gates.ts";

export interface RunRequest {
  tenant: Tenant;
  taskId: string;
  trigger: Exclude<Trigger, "retry">;
  scheduledFor: number;
  /** Run the handler and return its output: nothing saved, posted, logged or counted. */
  dryRun?: boolean;
}

export interface RunResult {
  runId: string;
  /** Run by a bot process on the database, for a CLI command: its output went where the task posts. */
  byBot?: boolean;
  status: Exclude<RunStatus, "skipped">;
  attempts: number;
  output: string | null;
  error: string | null;
  durationMs: number;
}

export interface RunnerDeps {
  store: Store;
  handlers: HandlerRegistry;
  executionLog: ExecutionRecords;
  sinks: OutputSink[];
  clock: Clock;
  log: Logger;
  /** What a tenant's handlers may read: only that tenant's records. */
  data: (tenant: Tenant) => ReadAccess;
  random?: () => number;
  /** Told of every logged attempt (metrics). */
  onAttempt?: (attempt: Execution) => void;
}

/** Starts runs of tasks, one at a time per task, and bounds them on shutdown (run.ts: a run). */
export class Runner {
  /**
   * Each task's run in progress, from before its handler is called (shutdown waits for them);
   * null once it is over. An entry stays while its task does: deleting and adding back the
   * thousands claimed in a burst made the map shrink and grow again each time, a third of the
   * cost of a claim.
   */
  readonly #running = new ByTask<Run | null>();
  /** Aborted when shutdown begins: no new runs, no more retries. */
  readonly #stopping = new AbortController();
  /** Attempts in progress: timed out at their deadline, cut off when shutdown's grace is over. */
  readonly #attempts: AttemptSet;
  readonly #env: RunEnv;

  constructor(private readonly deps: RunnerDeps) {
    this.#attempts = new AttemptSet(deps.clock, (attempt) =>
      attempt.abort(new TimeoutError(attempt.timeoutMs / 1000)),
    );
    this.#env = {
      deps,
      lines: unredacted(deps.log),
      attempts: this.#attempts,
      stopping: this.#stopping.signal,
      ended: ({ task }) => {
        if (deps.store.task(task.guildId, task.id)) this.#running.set(task.guildId, task.id, null);
        else this.#running.delete(task.guildId, task.id);
      },
    };
    // Runs for as long as the store is open: the runner's life.
    deps.store.onTaskChange((before, after) => {
      if (before && !after && this.#running.get(before.guildId, before.id) === null)
        this.#running.delete(before.guildId, before.id);
    });
  }

  /** How many tasks it keeps an entry for: each that has run and still exists, no more. */
  get tasksKept(): number {
    return this.#running.size;
  }

  isRunning(tenant: Tenant, taskId: string): boolean {
    return !!this.#running.get(tenant, taskId);
  }

  /** Settles once the task has no run in progress here. */
  async finishing(tenant: Tenant, taskId: string): Promise<void> {
    for (let run = this.#running.get(tenant, taskId); run; run = this.#running.get(tenant, taskId))
      await run.result.catch(() => {});
  }

  run(req: RunRequest): Promise<RunResult> {
    if (this.#stopping.signal.aborted) return Promise.reject(refusal());
    if (this.isRunning(req.tenant, req.taskId))
      return Promise.reject(new AlreadyRunningError(req.taskId));
    const task = this.deps.store.task(req.tenant, req.taskId);
    if (!task) return Promise.reject(new NotFoundError("task", req.taskId));
    const run = this.#claim(task, req.trigger, req.scheduledFor, req.dryRun ?? false, null);
    run.start();
    run.resume();
    return run.result;
  }

  /**
   * The scheduler's way in: claims a run of `task` (as the store has it now) at once, marked
   * running and its start stamped, and calls its handler when `gates` reach it; `watch` hears
   * when the run is over, or that it could not start (shutdown). The scheduler claims every due
   * run before it opens the gates, so no handler's work delays another run's claim. False, and
   * nothing done, when a run of the task is still in progress: the caller logs the skip.
   */
  claim(
    task: Task,
    trigger: RunRequest["trigger"],
    scheduledFor: number,
    gates: StartGates,
    watch: RunWatch,
  ): boolean {
    if (this.isRunning(task.guildId, task.id)) return false;
    if (this.#stopping.signal.aborted) watch.failed(refusal());
    else gates.add(this.#claim(task, trigger, scheduledFor, false, watch));
    return true;
  }

  /**
   * Marked running before its handler is called: a handler that asks for its own task is
   * refused like any overlap.
   */
  #claim(
    task: Task,
    trigger: RunRequest["trigger"],
    scheduledFor: number,
    dryRun: boolean,
    watch: RunWatch | null,
  ): Run {
    const run = new Run(
      this.#env,
      task,
      trigger,
      scheduledFor,
      this.deps.clock.now(),
      dryRun,
      watch,
    );
    this.#running.set(task.guildId, task.id, run);
    return run;
  }

  /**
   * Shutdown: no new runs or retries; attempts in progress get `graceMs` to finish, then are
   * aborted (and recorded as failed, without an alert).
   */
  async stop(graceMs: number): Promise<void> {
    this.#stopping.abort(new Error("Mission Control is shutting down"));
    const all = Promise.allSettled(
      Array.from(this.#running.values()).flatMap((run) => (run ? [run.result] : [])),
    );
    const wait = (ms: number) =>
      new Promise<"late">((resolve) => setTimeout(() => resolve("late"), ms).unref());
    if ((await Promise.race([all, wait(graceMs)])) !== "late") return;
    const reason = new Error("interrupted: Mission Control shut down before the attempt finished");
    this.#attempts.abortAll(reason);
    await Promise.race([all, wait(1000)]);
  }
}

function refusal(): MissionControlError {
  return new MissionControlError("Mission Control is shutting down; try again after it restarts");
}
