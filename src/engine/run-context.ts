import type { Logger } from "../shared/logger.ts";
import type { Trigger } from "../store/execution.ts";
import type { HandlerContext, ReadAccess } from "../tasks/handler.ts";
import type { Task } from "../tasks/model.ts";
import type { Clock } from "../time/clock.ts";
import type { Attempt } from "./attempts.ts";

/**
 * What a handler gets for one attempt. What most handlers never touch (a logger, a signal, the
 * dates) is made on first use: with thousands of runs due at once, every allocation at start
 * shows in how late the last handler starts.
 */
export class RunContext<Options = Record<string, unknown>> implements HandlerContext<Options> {
  #log: Logger | undefined;
  #scheduledFor: Date | undefined;

  constructor(
    readonly task: Task,
    readonly options: Options,
    readonly clock: Clock,
    readonly trigger: Trigger,
    readonly attempt: number,
    readonly data: ReadAccess,
    private readonly runId: string,
    private readonly scheduledForMs: number,
    /** When the run was claimed: marked running and its start stamped (ms since the epoch). */
    readonly claimedAt: number,
    private readonly cancel: Attempt,
    private readonly parentLog: Logger,
  ) {}

  get log(): Logger {
    this.#log ??= this.parentLog.child({
      taskId: this.task.id,
      runId: this.runId,
      attempt: this.attempt,
    });
    return this.#log;
  }

  get signal(): AbortSignal {
    return this.cancel.signal;
  }

  get scheduledFor(): Date {
    this.#scheduledFor ??= new Date(this.scheduledForMs);
    return this.#scheduledFor;
  }

  get lastSuccessAt(): Date | null {
    const at = this.task.history.lastSuccessAt;
    return at ? new Date(at) : null;
  }
}
