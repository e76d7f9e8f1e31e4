import type { Task } from "../tasks/model.ts";

// Where a run's results go. The file sink saves every output; the Discord channel and DM-alert
// sinks plug in beside it. Sinks run in order, so the file sink, first, saves before anything
// is posted.

export interface RunOutput {
  task: Task;
  runId: string;
  markdown: string;
  /** A path under DATA_DIR the handler asked for (checked against SAVE_AS), else outputs/<id>/. */
  saveAs?: string;
  scheduledFor: Date;
  startedAt: Date;
  attempt: number;
}

export interface RunFailure {
  task: Task;
  runId: string;
  error: string;
  attempts: number;
  scheduledFor: Date;
  /** The task's next run after this failure, or null when none is planned. */
  nextRun: Date | null;
}

export interface OutputSink {
  readonly name: string;
  /**
   * Deliver an output; a throw fails the attempt, so retry and alerting apply. `attempt.signal`
   * aborts when the attempt times out (made when first read: most sinks never need it).
   */
  publish?(output: RunOutput, attempt: { readonly signal: AbortSignal }): Promise<void>;
  /** A run failed for good, the first time since the task last succeeded. */
  alert?(failure: RunFailure): Promise<void>;
  /** The task succeeded again after an alert. */
  recovered?(task: Task, runId: string): Promise<void>;
}
