import type { OutputSink } from "../outputs/sink.ts";
import {
  AlreadyRunningError,
  errorText,
  MissionControlError,
  NotFoundError,
  TimeoutError,
} from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { type Execution, runKey, type Trigger } from "../store/execution.ts";
import type { ExecutionRecords } from "../store/execution-records.ts";
import type { Store } from "../store/store.ts";
import {
  type HandlerOutput,
  type HandlerRegistry,
  normalizeOutput,
  type ReadAccess,
} from "../tasks/handler.ts";
import type { RunStatus, Task } from "../tasks/model.ts";
import { recordKey, type Tenant } from "../tasks/tenant.ts";
import { type Clock, isoTime, sleep } from "../time/clock.ts";
import { runsSecondsApart } from "../time/schedule.ts";
import { Attempt, AttemptSet } from "./attempts.ts";
import { retryDelayMs } from "./retry.ts";
import { RunContext } from "./run-context.ts";
import { recordRun } from "./run-record.ts";
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

type AttemptOutcome = {
  status: RunResult["status"];
  output: string | null;
  error: string | null;
  /** The attempt's own time: not its wait for the rest of the burst to start. */
  durationMs: number;
  /** A handler that timed out and ignored its abort signal: it may still be running. */
  straggler?: Promise<unknown>;
};

/** How long a handler that ignores its timeout is waited for before the task is called stuck. */
export const STUCK_AFTER_MS = 60_000;

/** Runs a task: attempts with timeout and retry, one log line per attempt, outputs to sinks. */
export class Runner {
  /** Runs in progress; a run is here (undefined at first) from before its handler is called. */
  readonly #running = new Map<string, Promise<RunResult> | undefined>();
  /** Aborted when shutdown begins: no new runs, no more retries. */
  readonly #stopping = new AbortController();
  /** Attempts in progress: timed out at their deadline, cut off when shutdown's grace is over. */
  readonly #attempts: AttemptSet;

  constructor(private readonly deps: RunnerDeps) {
    this.#attempts = new AttemptSet(deps.clock, (attempt) =>
      attempt.abort(new TimeoutError((attempt.deadline - attempt.startedAt) / 1000)),
    );
  }

  isRunning(tenant: Tenant, taskId: string): boolean {
    return this.#running.has(recordKey(tenant, taskId));
  }

  /** Settles once the task has no run in progress here. */
  async finishing(tenant: Tenant, taskId: string): Promise<void> {
    const key = recordKey(tenant, taskId);
    while (this.#running.has(key)) {
      await (this.#running.get(key) ?? new Promise<void>((r) => setImmediate(r))).catch(() => {});
    }
  }

  run(req: RunRequest): Promise<RunResult> {
    if (this.#stopping.signal.aborted) return this.#refused();
    const key = recordKey(req.tenant, req.taskId);
    if (this.#running.has(key)) return Promise.reject(new AlreadyRunningError(req.taskId));
    const task = this.deps.store.task(req.tenant, req.taskId);
    if (!task) return Promise.reject(new NotFoundError("task", req.taskId));
    return this.#begin(task, req, key, this.deps.clock.now());
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
    const claimedAt = this.deps.clock.now();
    const run = gates.add(() => this.#begin(task, req, key, claimedAt, gates.allOpened));
    this.#running.set(key, run); // shutdown waits for it, started or not
    return run;
  }

  #refused(): Promise<never> {
    return Promise.reject(
      new MissionControlError("Mission Control is shutting down; try again after it restarts"),
    );
  }

  #begin(
    task: Task,
    req: RunRequest,
    key: string,
    claimedAt: number,
    allOpened?: Promise<void>,
  ): Promise<RunResult> {
    // Marked before #run calls the handler, so a handler that asks for its own task is refused
    // like any overlap. #run forgets it when done: always after this, as #run awaits before it
    // ends.
    this.#running.set(key, undefined);
    const run = this.#run(task, req, key, claimedAt, allOpened);
    this.#running.set(key, run);
    return run;
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

  /**
   * `claimedAt`: history's start of the run, and RunContext's. `allOpened`: the run is one of a
   * burst, whose handlers all start before any bookkeeping.
   */
  async #run(
    task: Task,
    req: RunRequest,
    key: string,
    claimedAt: number,
    allOpened: Promise<void> | undefined,
  ): Promise<RunResult> {
    try {
      const { clock, log } = this.deps;
      const runId = runKey(task.guildId, task.id, req.scheduledFor);
      // Durations on the monotonic clock: a wall-clock step (NTP, a VM resumed) cannot make
      // one negative.
      const started = clock.monotonic();
      const maxAttempts = req.dryRun ? 1 : 1 + task.retry.maxRetries;
      let outcome: AttemptOutcome = { status: "failure", output: null, error: null, durationMs: 0 };
      let attempt = 0;
      while (attempt < maxAttempts) {
        attempt++;
        const first = attempt === 1 ? allOpened : undefined;
        outcome = await this.#attempt(task, req, runId, attempt, claimedAt, first);
        const { durationMs } = outcome;
        if (first) await first;
        // Successes at debug: the execution log already records every attempt, and a line per
        // success was the biggest cost of a run at thousands of runs a second.
        const level = outcome.status === "success" ? "debug" : "warn";
        if (log.isLevelEnabled(level)) {
          log[level](
            {
              guildId: task.guildId,
              taskId: task.id,
              runId,
              attempt,
              status: outcome.status,
              durationMs,
              err: outcome.error ?? undefined,
            },
            `task ${task.id} attempt ${attempt}: ${outcome.status}`,
          );
        }
        if (req.dryRun) break;
        const line: Execution = {
          ts: isoTime(clock.now()),
          guildId: task.guildId,
          taskId: task.id,
          runId,
          scheduledFor: isoTime(req.scheduledFor),
          attempt,
          trigger: attempt === 1 ? req.trigger : "retry",
          status: outcome.status,
          durationMs,
          error: outcome.error,
        };
        this.deps.onAttempt?.(line);
        try {
          await this.deps.executionLog.append(line);
        } catch (err) {
          log.error({ err, taskId: task.id }, "could not append to the execution log");
        }
        // A handler that ignored its timeout still runs: the next attempt, and the task's next
        // run, wait for it, so two runs of one task never overlap.
        if (outcome.straggler) await this.#waitOut(task, outcome.straggler);
        if (outcome.status === "success" || attempt >= maxAttempts) break;
        try {
          await sleep(
            clock,
            retryDelayMs(task.retry, attempt, this.deps.random ?? Math.random),
            this.#stopping.signal,
          );
        } catch {
          break; // shutting down: the retry is dropped, and the run ends with the last failure
        }
      }
      const { status, output, error } = outcome;
      const result: RunResult = {
        runId,
        status,
        attempts: attempt,
        output,
        error,
        durationMs: since(clock, started),
      };
      if (!req.dryRun) {
        logFinished(log, task, result, req.trigger);
        await recordRun(this.deps, task, result, {
          startedAt: claimedAt,
          scheduledFor: req.scheduledFor,
          // A run cut off by shutdown is not an incident worth a DM.
          alert: !this.#stopping.signal.aborted,
        });
      }
      return result;
    } finally {
      this.#running.delete(key);
    }
  }

  /**
   * Calls the handler before it first awaits anything (a burst's starts are timed by that), then
   * waits for `allOpened` before publishing the output.
   */
  async #attempt(
    task: Task,
    req: RunRequest,
    runId: string,
    attempt: number,
    claimedAt: number,
    allOpened: Promise<void> | undefined,
  ): Promise<AttemptOutcome> {
    const { clock, handlers, log } = this.deps;
    if (log.isLevelEnabled("debug")) {
      log.debug({ taskId: task.id, runId, attempt }, `task ${task.id} attempt ${attempt} started`);
    }
    const start = clock.monotonic();
    let waited = 0;
    const cancel = new Attempt(start, task.timeoutSeconds * 1000);
    this.#attempts.add(cancel);
    let work: Promise<HandlerOutput> | undefined;
    try {
      const ctx = new RunContext(
        task,
        handlers.parseOptions(task.handler, task.options),
        clock,
        attempt === 1 ? req.trigger : "retry",
        attempt,
        this.deps.data(task.guildId),
        runId,
        req.scheduledFor,
        claimedAt,
        cancel,
        log,
      );
      try {
        work = Promise.resolve(handlers.get(task.handler).run(ctx));
      } catch (err) {
        work = Promise.reject(err);
      }
      const output = await cancel.race(work);
      const { markdown, saveAs } = normalizeOutput(output);
      if (markdown && !req.dryRun) {
        const settledAt = new Date(clock.now());
        if (allOpened) {
          const before = clock.monotonic();
          await allOpened;
          waited = clock.monotonic() - before;
        }
        for (const sink of this.deps.sinks) {
          await sink.publish?.(
            {
              task,
              runId,
              markdown,
              saveAs,
              scheduledFor: ctx.scheduledFor,
              startedAt: settledAt,
              attempt,
            },
            cancel,
          );
        }
      }
      return {
        status: "success",
        output: markdown,
        error: null,
        durationMs: since(clock, start + waited),
      };
    } catch (err) {
      const timedOut = err instanceof TimeoutError;
      return {
        status: timedOut ? "timeout" : "failure",
        output: null,
        error: errorText(err).slice(0, 2000),
        durationMs: since(clock, start + waited),
        straggler: timedOut ? work : undefined,
      };
    } finally {
      this.#attempts.delete(cancel);
    }
  }

  /** Waits for a timed-out handler to settle, up to STUCK_AFTER_MS (or shutdown). */
  async #waitOut(task: Task, straggler: Promise<unknown>): Promise<void> {
    const { clock, log } = this.deps;
    const limitMs = Math.max(STUCK_AFTER_MS, task.timeoutSeconds * 1000);
    const done = new AbortController();
    const signal = AbortSignal.any([done.signal, this.#stopping.signal]);
    const settled = straggler.then(
      () => "settled" as const,
      () => "settled" as const,
    );
    const late = sleep(clock, limitMs, signal).then(
      () => "stuck" as const,
      () => "settled" as const,
    );
    const outcome = await Promise.race([settled, late]);
    done.abort();
    if (outcome === "stuck") {
      log.error(
        { taskId: task.id, guildId: task.guildId, waitedMs: limitMs },
        `task ${task.id} is stuck: its handler ignored its timeout and still runs; its next run may overlap it`,
      );
    }
  }
}

/** Whole milliseconds on the monotonic clock since `start`. */
function since(clock: Clock, start: number): number {
  return Math.max(0, Math.round(clock.monotonic() - start));
}

/**
 * One line per finished run: at info, so a person watching the log sees each task run; at
 * debug for tasks that run seconds apart, which would drown everything else.
 */
function logFinished(log: Logger, task: Task, result: RunResult, trigger: Trigger): void {
  const ok = result.status === "success";
  const level = !ok ? "warn" : runsSecondsApart(task.schedule) ? "debug" : "info";
  if (!log.isLevelEnabled(level)) return;
  const attempts = `${result.attempts} attempt${result.attempts === 1 ? "" : "s"}`;
  log[level](
    { guildId: task.guildId, taskId: task.id, runId: result.runId, trigger },
    `task ${task.id}: ${result.status} after ${attempts} in ${result.durationMs} ms${ok ? "" : `: ${result.error}`}`,
  );
}
