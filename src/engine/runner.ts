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
import type { HandlerRegistry, ReadAccess } from "../tasks/handler.ts";
import type { RunStatus, Task } from "../tasks/model.ts";
import { recordKey, type Tenant } from "../tasks/tenant.ts";
import type { Clock } from "../time/clock.ts";
import { AttemptSet } from "./attempts.ts";
import { Run, type RunEnv } from "./run.ts";
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
  /** Runs in progress, from before their handler is called; shutdown waits for them. */
  readonly #running = new Map<string, Promise<RunResult>>();
  /** Aborted when shutdown begins: no new runs, no more retries. */
  readonly #stopping = new AbortController();
  /** Attempts in progress: timed out at their deadline, cut off when shutdown's grace is over. */
  readonly #attempts: AttemptSet;
  readonly #env: RunEnv;

  constructor(private readonly deps: RunnerDeps) {
    this.#attempts = new AttemptSet(deps.clock, (attempt) =>
      attempt.abort(new TimeoutError((attempt.deadline - attempt.startedAt) / 1000)),
    );
    this.#env = {
      deps,
      lines: unredacted(deps.log),
      attempts: this.#attempts,
      stopping: this.#stopping.signal,
      ended: (key) => this.#running.delete(key),
    };
  }

  isRunning(tenant: Tenant, taskId: string): boolean {
    return this.#running.has(recordKey(tenant, taskId));
  }

  /** Settles once the task has no run in progress here. */
  async finishing(tenant: Tenant, taskId: string): Promise<void> {
    const key = recordKey(tenant, taskId);
    while (this.#running.has(key)) await this.#running.get(key)?.catch(() => {});
  }

  run(req: RunRequest): Promise<RunResult> {
    if (this.#stopping.signal.aborted) return this.#refused();
    const key = recordKey(req.tenant, req.taskId);
    if (this.#running.has(key)) return Promise.reject(new AlreadyRunningError(req.taskId));
    const task = this.deps.store.task(req.tenant, req.taskId);
    if (!task) return Promise.reject(new NotFoundError("task", req.taskId));
    const run = this.#claim(task, req, key);
    run.start();
    run.resume();
    return run.result;
  }

  /**
   * The scheduler's way in: claims a run of `task` (as the store has it now) at once, marked
   * running and its start stamped, and calls its handler when `gates` reach it. The scheduler
   * claims every due run before it opens the gates, so no handler's work delays another run's
   * claim. Null when a run of the task is still in progress: the caller logs the skip.
   */
  claim(task: Task, req: RunRequest, gates: StartGates): Promise<RunResult> | null {
    const key = recordKey(task.guildId, task.id);
    if (this.#running.has(key)) return null;
    if (this.#stopping.signal.aborted) return this.#refused();
    const run = this.#claim(task, req, key);
    gates.add(run);
    return run.result;
  }

  /**
   * Marked running before its handler is called: a handler that asks for its own task is
   * refused like any overlap.
   */
  #claim(task: Task, req: RunRequest, key: string): Run {
    const run = new Run(this.#env, task, req, key, this.deps.clock.now());
    this.#running.set(key, run.result);
    return run;
  }

  #refused(): Promise<never> {
    return Promise.reject(
      new MissionControlError("Mission Control is shutting down; try again after it restarts"),
    );
  }

  /**
   * Shutdown: no new runs or retries; attempts in progress get `graceMs` to finish, then are
   * aborted (and recorded as failed, without an alert).
   */
  async stop(graceMs: number): Promise<void> {
    this.#stopping.abort(new Error("Mission Control is shutting down"));
    const all = Promise.allSettled(this.#running.values());
    const wait = (ms: number) =>
      new Promise<"late">((resolve) => setTimeout(() => resolve("late"), ms).unref());
    if ((await Promise.race([all, wait(graceMs)])) !== "late") return;
    const reason = new Error("interrupted: Mission Control shut down before the attempt finished");
    this.#attempts.abortAll(reason);
    await Promise.race([all, wait(1000)]);
  }
}
