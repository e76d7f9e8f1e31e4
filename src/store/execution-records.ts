import type { TaskActivity } from "../tasks/activity.ts";
import type { Tenant } from "../tasks/tenant.ts";
import type { Removed } from "./day-log.ts";
import type { Execution } from "./execution.ts";

// The execution log as the rest of the code uses it: day files under DATA_DIR
// (execution-log.ts), or a table in PostgreSQL (pg/pg-execution-log.ts).

export interface ExecutionRecords {
  append(entry: Execution): Promise<void>;
  /** Entries with ts >= sinceMs, oldest first. For short windows (catch-up). */
  since(sinceMs: number): Promise<Execution[]>;
  /** Runs per task of one tenant with sinceMs <= ts < untilMs, busiest first. */
  activity(tenant: Tenant, sinceMs: number, untilMs?: number): Promise<TaskActivity[]>;
  /** A task's last `limit` attempts, oldest first. */
  recent(tenant: Tenant, taskId: string, limit: number): Promise<Execution[]>;
  /** `recent` of several tasks at once (a page of them), by task id. */
  recentMany(
    tenant: Tenant,
    taskIds: readonly string[],
    limit: number,
  ): Promise<Map<string, Execution[]>>;
  /** Walks the log from the newest entry back; `visit` returns false to stop. */
  readBackwards(visit: (e: Execution) => boolean): Promise<void>;
  /** Removes (dryRun: only lists) the entries of UTC days before `day` (YYYY-MM-DD). */
  removeBefore(day: string, dryRun: boolean): Promise<Removed[]>;
  close(): Promise<void>;
}
