import type pg from "pg";
import type { Removed } from "../day-log.ts";
import type { DeliveryRecords } from "../delivery-records.ts";
import { removeDaysBefore } from "./pg-execution-log.ts";

// Delivery records as a table (DATABASE_URL): a post made by one process is known to all, so
// a run taken over by another is not posted twice.

export class PgDeliveryRecords implements DeliveryRecords {
  constructor(
    private readonly pool: pg.Pool,
    private readonly now: () => number = Date.now,
  ) {}

  async posted(runId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      "SELECT 1 FROM mc_deliveries WHERE run_id = $1 AND phase = 'posted'",
      [runId],
    );
    return rowCount === 1;
  }

  async mark(
    runId: string,
    taskId: string,
    phase: "posting" | "posted",
    channelId: string,
  ): Promise<void> {
    await this.pool.query(
      `INSERT INTO mc_deliveries (run_id, phase, task_id, channel_id, ts) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (run_id, phase) DO UPDATE SET ts = EXCLUDED.ts, channel_id = EXCLUDED.channel_id`,
      [runId, phase, taskId, channelId, new Date(this.now())],
    );
  }

  removeBefore(day: string, dryRun: boolean): Promise<Removed[]> {
    return removeDaysBefore(this.pool, "mc_deliveries", day, dryRun);
  }
}
