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
  /** The run is over: its task may run again. */
  ended(run: Run): void;
}

/** Told when a run is over: how the scheduler counts the runs it started without a promise each. */
export interface RunWatch {
  ended(): void;
  /** The run's record could not be kept, or the run could not start. */
  failed(err: unknown): void;
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

/** How long a handler that ignores its timeout is waited for before the task is called stuck. */
export const STUCK_AFTER_MS = 60_000;

export class Run implements BurstRun {
  #runId: string | undefined;
  #result: Promise<RunResult> | undefined;
  #resolve: ((rest: Promise<RunResult>) => void) | undefined;
  /** The first attempt, its handler called by start(). */
  #first: Attempt | undefined;

  // What a run keeps is a field of its own, not a request object: thousands are claimed at
  // once, and each object more per run shows in how late the last handler starts.
  constructor(
    readonly env: RunEnv,
    /** The task as stored when the run was claimed. */
    readonly task: Task,
    /** The first attempt's trigger; later attempts are retries. */
    readonly trigger: RunRequest["trigger"],
    readonly scheduledFor: number,
    /** When the run was claimed (ms since the epoch): history's start of the run, and RunContext's. */
    readonly claimedAt: number,
    /** Run the handler and keep its output: nothing saved, posted, logged or counted. */
    readonly dryRun: boolean,
    private readonly watch: RunWatch | null,
  ) {}

  get runId(): string {
    this.#runId ??= runKey(this.task.guildId, this.task.id, this.scheduledFor);
    return this.#runId;
  }

  /**
   * Settles with the run's result once it is over (it rejects only if its record could not be
   * kept). Made when first asked for: the scheduler never asks, its watch is told instead.
   */
  get result(): Promise<RunResult> {
    this.#result ??= new Promise((resolve) => {
      this.#resolve = resolve;
    });
    return this.#result;
  }

  /** Calls the first attempt's handler. */
  start(): void {
    this.#first = this.#call(1);
  }

  /** Goes on from the first attempt's call to the end of the run. */
  resume(): void {
    const rest = this.#rest(this.#first ?? this.#call(1));
    this.#first = undefined;
    if (this.#resolve) this.#resolve(rest);
    else this.#result = rest;
    if (this.watch) rest.then(this.watch.ended, this.watch.failed);
  }

  async #rest(first: Attempt): Promise<RunResult> {
    const { task, runId, env, dryRun } = this;
    const { clock } = env.deps;
    const log = env.lines;
    try {
      const maxAttempts = dryRun ? 1 : 1 + task.retry.maxRetries;
      let outcome: AttemptOutcome;
      let attempt = 1;
      for (let call = first; ; call = this.#call(++attempt)) {
        outcome = await this.#outcome(attempt, call);
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
        if (dryRun) break;
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
        durationMs: since(clock, first.startedAt),
      };
      if (!dryRun) {
        logFinished(log, task, result, this.trigger);
        await recordRun(env.deps, task, result, {
          startedAt: this.claimedAt,
          scheduledFor: this.scheduledFor,
          // A run cut off by shutdown is not an incident worth a DM.
          alert: !env.stopping.aborted,
        });
      }
      return result;
    } finally {
      env.ended(this);
    }
  }

  /** Calls the handler of attempt `attempt`, its timeout counted from now. Never throws. */
  #call(attempt: number): Attempt {
    const { task, env } = this;
    const { clock, handlers } = env.deps;
    if (env.lines.isLevelEnabled("debug")) {
      env.lines.debug(
        { taskId: task.id, runId: this.runId, attempt },
        `task ${task.id} attempt ${attempt} started`,
      );
    }
    const call = new Attempt(clock.monotonic(), task.timeoutSeconds * 1000);
    try {
      const ctx = new RunContext(
        this,
        attempt,
        handlers.parseOptions(task.handler, task.options),
        call,
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
        // Its deadline is watched from here on (counted from the call). One that returned
        // without a promise is done: only its publishing, if any, is watched (#outcome).
        env.attempts.add(call);
        return call;
      }
      call.value = value;
    } catch (err) {
      call.threw = true;
      call.value = err;
    }
    call.settledAt = clock.monotonic();
    return call;
  }

  /**
   * The called handler's outcome, its output published. Its duration is the handler's own time
   * (from its call until it returned or its promise settled) plus the publishing: not its wait,
   * in a burst, for every other handler to be called.
   */
  async #outcome(attempt: number, call: Attempt): Promise<AttemptOutcome> {
    const { work } = call;
    const { task, runId, env } = this;
    const { clock, sinks } = env.deps;
    let publishingMs = 0;
    try {
      if (call.threw) throw call.value;
      const output = !work
        ? call.value
        : call.settledAt <= call.deadline
          ? await work
          : await call.race(work);
      const { markdown, saveAs } = normalizeOutput(output as HandlerOutput);
      if (markdown && !this.dryRun) {
        env.attempts.add(call);
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
                scheduledFor: new Date(this.scheduledFor),
                startedAt,
                attempt,
              },
              call,
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
      env.attempts.delete(call);
    }
  }

  async #logAttempt(attempt: number, outcome: AttemptOutcome): Promise<void> {
    const { task, runId, env } = this;
    const { clock, log } = env.deps;
    const line: Execution = {
      ts: isoTime(clock.now()),
      guildId: task.guildId,
      taskId: task.id,
      runId,
      scheduledFor: isoTime(this.scheduledFor),
      attempt,
      trigger: attempt === 1 ? this.trigger : "retry",
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
function handlerMs(call: Attempt, clock: Clock): number {
  return (Number.isNaN(call.settledAt) ? clock.monotonic() : call.settledAt) - call.startedAt;
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
