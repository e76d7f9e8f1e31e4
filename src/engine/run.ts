import { errorText, TimeoutError } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { type Execution, runKey, type Trigger } from "../store/execution.ts";
import { type HandlerOutput, normalizeOutput } from "../tasks/handler.ts";
import type { Task } from "../tasks/model.ts";
import { type Clock, isoTime, sleep } from "../time/clock.ts";
import { runsSecondsApart } from "../time/schedule.ts";
import { Attempt, type AttemptSet } from "./attempts.ts";
import { retryDelayMs } from "./retry.ts";
import { RunContext } from "./run-context.ts";
import { recordRun } from "./run-record.ts";
import type { RunnerDeps, RunRequest, RunResult } from "./runner.ts";
import type { BurstRun } from "./start-gates.ts";

// One run of a task, in two steps: its first handler is called (start), then the run goes on
// (resume): the outcome, a log line per attempt, retries, the history and alerts. The runner
// takes both steps at once; in a burst of due runs the gates take them (start-gates.ts), every
// run's start before any run's resume, so that what a run allocates and awaits after its
// handler is called does not delay the next run's handler.

/** What a run needs of the runner that owns it. */
export interface RunEnv {
  deps: RunnerDeps;
  /** The run's own lines: `deps.log` without redaction (see unredacted). */
  lines: Logger;
  attempts: AttemptSet;
  /** Aborted when shutdown begins: no more retries, and a run cut off sends no alert. */
  stopping: AbortSignal;
  /** The run is over: the task may run again. */
  ended(key: string): void;
}

/** How an attempt went. */
interface AttemptOutcome {
  status: RunResult["status"];
  output: string | null;
  error: string | null;
  durationMs: number;
  /** A handler that timed out and ignored its abort signal: it may still be running. */
  straggler?: Promise<unknown>;
}

/** An attempt's handler, called: what it gave back or threw, and the attempt's cancellation. */
interface Call {
  attempt: number;
  cancel: Attempt;
  /**
   * Monotonic ms when the handler was called, and when it was done: returned without a promise,
   * threw, or its promise settled (NaN until then).
   */
  calledAt: number;
  settledAt: number;
  /** Its promise, when it returned one; otherwise it settled at the call, as `value` or `error`. */
  work: Promise<HandlerOutput> | undefined;
  value: HandlerOutput;
  threw: boolean;
  error: unknown;
}

/** How long a handler that ignores its timeout is waited for before the task is called stuck. */
export const STUCK_AFTER_MS = 60_000;

const ignore = () => {};

export class Run implements BurstRun {
  /** Settles with the run's result once it is over (it rejects only if its record could not be kept). */
  readonly result: Promise<RunResult>;
  readonly runId: string;
  #settle: (result: Promise<RunResult>) => void = ignore;
  #first: Call | undefined;

  constructor(
    private readonly env: RunEnv,
    private readonly task: Task,
    private readonly req: RunRequest,
    private readonly key: string,
    /** When the run was claimed (ms since the epoch): history's start of the run, and RunContext's. */
    private readonly claimedAt: number,
  ) {
    this.runId = runKey(task.guildId, task.id, req.scheduledFor);
    this.result = new Promise((resolve) => {
      this.#settle = resolve;
    });
  }

  /** Calls the first attempt's handler. */
  start(): void {
    this.#first = this.#call(1);
  }

  /** Goes on from the first attempt's call to the end of the run. */
  resume(): void {
    this.#settle(this.#rest(this.#first ?? this.#call(1)));
  }

  async #rest(first: Call): Promise<RunResult> {
    const { task, req, runId, env } = this;
    const { clock } = env.deps;
    const log = env.lines;
    try {
      const maxAttempts = req.dryRun ? 1 : 1 + task.retry.maxRetries;
      let outcome: AttemptOutcome;
      let attempt = 1;
      for (let call = first; ; call = this.#call(++attempt)) {
        outcome = await this.#outcome(call);
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
              durationMs: outcome.durationMs,
              err: outcome.error ?? undefined,
            },
            `task ${task.id} attempt ${attempt}: ${outcome.status}`,
          );
        }
        if (req.dryRun) break;
        await this.#logAttempt(attempt, outcome);
        // A handler that ignored its timeout still runs: the next attempt, and the task's next
        // run, wait for it, so two runs of one task never overlap.
        if (outcome.straggler) await this.#waitOut(outcome.straggler);
        if (outcome.status === "success" || attempt >= maxAttempts) break;
        try {
          await sleep(
            clock,
            retryDelayMs(task.retry, attempt, env.deps.random ?? Math.random),
            env.stopping,
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
        durationMs: since(clock, first.calledAt),
      };
      if (!req.dryRun) {
        logFinished(log, task, result, req.trigger);
        await recordRun(env.deps, task, result, {
          startedAt: this.claimedAt,
          scheduledFor: req.scheduledFor,
          // A run cut off by shutdown is not an incident worth a DM.
          alert: !env.stopping.aborted,
        });
      }
      return result;
    } finally {
      env.ended(this.key);
    }
  }

  /** Calls the handler of attempt `attempt`, its timeout counted from now. Never throws. */
  #call(attempt: number): Call {
    const { task, req, runId, env } = this;
    const { clock, handlers, log } = env.deps;
    if (env.lines.isLevelEnabled("debug")) {
      env.lines.debug(
        { taskId: task.id, runId, attempt },
        `task ${task.id} attempt ${attempt} started`,
      );
    }
    const calledAt = clock.monotonic();
    const cancel = new Attempt(calledAt, task.timeoutSeconds * 1000);
    env.attempts.add(cancel);
    // Every field from the start: one added later would give each call a second allocation.
    const call: Call = {
      attempt,
      cancel,
      calledAt,
      settledAt: Number.NaN,
      work: undefined,
      value: undefined,
      threw: false,
      error: undefined,
    };
    try {
      const ctx = new RunContext(
        task,
        handlers.parseOptions(task.handler, task.options),
        clock,
        attempt === 1 ? req.trigger : "retry",
        attempt,
        env.deps.data(task.guildId),
        runId,
        req.scheduledFor,
        this.claimedAt,
        cancel,
        log,
      );
      const value = handlers.get(task.handler).run(ctx);
      if (isThenable(value)) {
        const work = Promise.resolve(value);
        // In a burst its outcome is taken up only once every handler has been called: its time
        // is stamped as it settles (so a deadline passing meanwhile does not make it a timeout),
        // and a rejection is handled here, not left unhandled until then.
        const settled = () => {
          call.settledAt = clock.monotonic();
        };
        work.then(settled, settled);
        call.work = work;
        return call;
      }
      call.value = value;
    } catch (err) {
      call.threw = true;
      call.error = err;
    }
    call.settledAt = clock.monotonic();
    return call;
  }

  /**
   * The called handler's outcome, its output published. Its duration is the handler's own time
   * (from its call until it returned or its promise settled) plus the publishing: not its wait,
   * in a burst, for every other handler to be called.
   */
  async #outcome(call: Call): Promise<AttemptOutcome> {
    const { attempt, cancel, work } = call;
    const { task, req, runId, env } = this;
    const { clock, sinks } = env.deps;
    let publishingMs = 0;
    try {
      if (call.threw) throw call.error;
      const output = !work
        ? call.value
        : call.settledAt <= cancel.deadline
          ? await work
          : await cancel.race(work);
      const { markdown, saveAs } = normalizeOutput(output);
      if (markdown && !req.dryRun) {
        const from = clock.monotonic();
        const startedAt = new Date(clock.now());
        try {
          for (const sink of sinks) {
            await sink.publish?.(
              {
                task,
                runId,
                markdown,
                saveAs,
                scheduledFor: new Date(req.scheduledFor),
                startedAt,
                attempt,
              },
              cancel,
            );
          }
        } finally {
          publishingMs = clock.monotonic() - from;
        }
      }
      return {
        status: "success",
        output: markdown,
        error: null,
        durationMs: wholeMs(handlerMs(call, clock) + publishingMs),
      };
    } catch (err) {
      const timedOut = err instanceof TimeoutError;
      return {
        status: timedOut ? "timeout" : "failure",
        output: null,
        error: errorText(err).slice(0, 2000),
        durationMs: wholeMs(handlerMs(call, clock) + publishingMs),
        straggler: timedOut ? work : undefined,
      };
    } finally {
      env.attempts.delete(cancel);
    }
  }

  async #logAttempt(attempt: number, outcome: AttemptOutcome): Promise<void> {
    const { task, req, runId, env } = this;
    const { clock, log } = env.deps;
    const line: Execution = {
      ts: isoTime(clock.now()),
      guildId: task.guildId,
      taskId: task.id,
      runId,
      scheduledFor: isoTime(req.scheduledFor),
      attempt,
      trigger: attempt === 1 ? req.trigger : "retry",
      status: outcome.status,
      durationMs: outcome.durationMs,
      error: outcome.error,
    };
    env.deps.onAttempt?.(line);
    try {
      await env.deps.executionLog.append(line);
    } catch (err) {
      log.error({ err, taskId: task.id }, "could not append to the execution log");
    }
  }

  /** Waits for a timed-out handler to settle, up to STUCK_AFTER_MS (or shutdown). */
  async #waitOut(straggler: Promise<unknown>): Promise<void> {
    const { task, env } = this;
    const { clock, log } = env.deps;
    const limitMs = Math.max(STUCK_AFTER_MS, task.timeoutSeconds * 1000);
    const done = new AbortController();
    const signal = AbortSignal.any([done.signal, env.stopping]);
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

function isThenable(value: unknown): value is PromiseLike<HandlerOutput> {
  return typeof (value as PromiseLike<unknown> | null)?.then === "function";
}

/** Whole milliseconds on the monotonic clock since `start`. */
function since(clock: Clock, start: number): number {
  return wholeMs(clock.monotonic() - start);
}

function wholeMs(ms: number): number {
  return Math.max(0, Math.round(ms));
}

/** A handler's own time: from its call until it was done (or until now). */
function handlerMs(call: Call, clock: Clock): number {
  return (Number.isNaN(call.settledAt) ? clock.monotonic() : call.settledAt) - call.calledAt;
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
