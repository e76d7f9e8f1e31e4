import type { Removed } from "./day-log.ts";

// Which runs' outputs reached Discord: a run's key is recorded before and after its post, so a
// run executed again (a retry, a catch-up after a crash) is not posted twice. Day files under
// DATA_DIR (discord/delivery-journal.ts), or a table in PostgreSQL (pg/pg-deliveries.ts).

export interface DeliveryRecords {
  posted(runId: string): Promise<boolean>;
  mark(
    runId: string,
    taskId: string,
    phase: "posting" | "posted",
    channelId: string,
  ): Promise<void>;
  /** Removes (dryRun: only lists) the records of UTC days before `day` (YYYY-MM-DD). */
  removeBefore(day: string, dryRun: boolean): Promise<Removed[]>;
}
