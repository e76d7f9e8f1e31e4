import type { Logger } from "../shared/logger.ts";
import type { Trigger } from "../store/execution.ts";
import type { HandlerContext, ReadAccess } from "../tasks/handler.ts";
import type { Task } from "../tasks/model.ts";
import type { Clock } from "../time/clock.ts";
import type { Attempt } from "./attempts.ts";
import type { Run } from "./run.ts";

/**
 * What a handler gets for one attempt. It reads the rest from its run, and makes what most
 * handlers never touch (a logger, a signal, the dates) on first use: with thousands of runs due
 * at once, every allocation at start shows in how late the last handler starts.
 */
export class RunContext<Options = Record<string, unknown>> implements HandlerContext<Options> {
  readonly #run: Run;
  readonly #cancel: Attempt;
  #log: Logger | undefined;
  #scheduledFor: Date | undefined;

  constructor(
    run: Run,
    readonly attempt: number,
    readonly options: Options,
    cancel: Attempt,
  ) {
    this.#run = run;
    this.#cancel = cancel;
  }

  get task(): Task {
    return this.#run.task;
  }

  get clock(): Clock {
    return this.#run.env.deps.clock;
  }

  get trigger(): Trigger {
    return this.attempt === 1 ? this.#run.trigger : "retry";
  }

  get data(): ReadAccess {
    return this.#run.env.deps.data(this.#run.task.guildId);
  }

  /** When the run was claimed: marked running and its start stamped (ms since the epoch). */
  get claimedAt(): number {
    return this.#run.claimedAt;
  }

  get log(): Logger {
    this.#log ??= this.#run.env.deps.log.child({
      taskId: this.#run.task.id,
      runId: this.#run.runId,
      attempt: this.attempt,
    });
    return this.#log;
  }

  get signal(): AbortSignal {
    return this.#cancel.signal;
  }

  get scheduledFor(): Date {
    this.#scheduledFor ??= new Date(this.#run.scheduledFor);
    return this.#scheduledFor;
  }

  get lastSuccessAt(): Date | null {
    const at = this.#run.task.history.lastSuccessAt;
    return at ? new Date(at) : null;
  }
}
