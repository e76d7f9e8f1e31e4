import type pg from "pg";
import { ActivityTally, type TaskActivity } from "../../tasks/activity.ts";
import type { Tenant } from "../../tasks/tenant.ts";
import { isoTime } from "../../time/clock.ts";
import type { Removed } from "../day-log.ts";
import type { Execution } from "../execution.ts";
import type { ExecutionRecords } from "../execution-records.ts";

// The execution log as a table (DATABASE_URL): every process's attempts in one place, read by
// task through an index, counted by the same tally as the file log, removed by day.

interface Row {
  tenant: string;
  task_id: string;
  run_id: string;
  scheduled_for: Date;
  attempt: number;
  trigger: Execution["trigger"];
  status: Execution["status"];
  duration_ms: number;
  error: string | null;
  ts: Date;
}

const COLUMNS =
  "tenant, task_id, run_id, scheduled_for, attempt, trigger, status, duration_ms, error, ts";
/** Rows read at a time when walking back (history counters rebuilt at start). */
const PAGE = 1_000;

const toExecution = (r: Row): Execution => ({
  ts: isoTime(r.ts.getTime()),
  guildId: r.tenant,
  taskId: r.task_id,
  runId: r.run_id,
  scheduledFor: isoTime(r.scheduled_for.getTime()),
  attempt: r.attempt,
  trigger: r.trigger,
  status: r.status,
  durationMs: r.duration_ms,
  error: r.error,
});

export class PgExecutionLog implements ExecutionRecords {
  constructor(private readonly pool: pg.Pool) {}

  async append(e: Execution): Promise<void> {
    await this.pool.query(
      `INSERT INTO mc_executions (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        e.guildId,
        e.taskId,
        e.runId,
        e.scheduledFor,
        e.attempt,
        e.trigger,
        e.status,
        e.durationMs,
        e.error,
        e.ts,
      ],
    );
  }

  async since(sinceMs: number): Promise<Execution[]> {
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM mc_executions WHERE ts >= $1 ORDER BY seq`,
      [new Date(sinceMs)],
    );
    return rows.map(toExecution);
  }

  async activity(
    tenant: Tenant,
    sinceMs: number,
    untilMs = Number.POSITIVE_INFINITY,
  ): Promise<TaskActivity[]> {
    const tally = new ActivityTally();
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM mc_executions WHERE tenant = $1 AND ts >= $2 AND ($3::timestamptz IS NULL OR ts < $3) ORDER BY seq DESC`,
      [tenant, new Date(sinceMs), Number.isFinite(untilMs) ? new Date(untilMs) : null],
    );
    for (const row of rows) tally.add(toExecution(row));
    return tally.result();
  }

  async recent(tenant: Tenant, taskId: string, limit: number): Promise<Execution[]> {
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM mc_executions WHERE tenant = $1 AND task_id = $2 ORDER BY seq DESC LIMIT $3`,
      [tenant, taskId, limit],
    );
    return rows.reverse().map(toExecution);
  }

  async recentMany(
    tenant: Tenant,
    taskIds: readonly string[],
    limit: number,
  ): Promise<Map<string, Execution[]>> {
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM (
         SELECT *, row_number() OVER (PARTITION BY task_id ORDER BY seq DESC) AS newest
         FROM mc_executions WHERE tenant = $1 AND task_id = ANY($2::text[])
       ) t WHERE newest <= $3 ORDER BY seq`,
      [tenant, taskIds, limit],
    );
    const all = new Map<string, Execution[]>(taskIds.map((id) => [id, []]));
    for (const row of rows) all.get(row.task_id)?.push(toExecution(row));
    return all;
  }

  async readBackwards(visit: (e: Execution) => boolean): Promise<void> {
    let before = "9223372036854775807";
    for (;;) {
      const { rows } = await this.pool.query<Row & { seq: string }>(
        `SELECT seq, ${COLUMNS} FROM mc_executions WHERE seq < $1 ORDER BY seq DESC LIMIT ${PAGE}`,
        [before],
      );
      for (const row of rows) if (!visit(toExecution(row))) return;
      if (rows.length < PAGE) return;
      before = (rows.at(-1) as { seq: string }).seq;
    }
  }

  removeBefore(day: string, dryRun: boolean): Promise<Removed[]> {
    return removeDaysBefore(this.pool, "mc_executions", day, dryRun);
  }

  async close(): Promise<void> {
    // The pool is the store's; it ends it.
  }
}

/** The rows of a table of dated records from UTC days before `day`, by day; removed unless dryRun. */
export async function removeDaysBefore(
  pool: pg.Pool,
  table: "mc_executions" | "mc_deliveries",
  day: string,
  dryRun: boolean,
): Promise<Removed[]> {
  const cutoff = `${day}T00:00:00Z`;
  const { rows } = await pool.query<{ day: string; bytes: string }>(
    `SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, sum(pg_column_size(r.*))::bigint AS bytes
     FROM ${table} r WHERE ts < $1 GROUP BY 1 ORDER BY 1`,
    [cutoff],
  );
  if (!dryRun && rows.length) await pool.query(`DELETE FROM ${table} WHERE ts < $1`, [cutoff]);
  return rows.map((r) => ({ path: `${table} ${r.day}`, bytes: Number(r.bytes) }));
}
