import type pg from "pg";
import { StartupError } from "../../shared/errors.ts";

// The PostgreSQL schema and its versions. Records are rows keyed by tenant first (a server's
// data is one range of the primary key), with the record as JSON, validated by the same zod
// schemas as the file store's, and a version that makes concurrent writes detectable.

export const LISTS = ["tasks", "goals", "reminders", "servers"] as const;
export type ListName = (typeof LISTS)[number];

/** Each step takes the schema from its index to the next version. */
const MIGRATIONS: string[] = [
  `CREATE TABLE mc_meta (key text PRIMARY KEY, value jsonb NOT NULL);
   CREATE TABLE mc_records (
     tenant text NOT NULL,
     list text NOT NULL CHECK (list IN ('tasks', 'goals', 'reminders', 'servers')),
     id text NOT NULL,
     seq bigint GENERATED ALWAYS AS IDENTITY,
     data jsonb NOT NULL,
     version integer NOT NULL,
     changed_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (tenant, list, id)
   );
   CREATE INDEX mc_records_by_list ON mc_records (list, tenant, seq);`,
  // The execution log: one row per attempt, as a line of the file log.
  `CREATE TABLE mc_executions (
     seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     tenant text NOT NULL,
     task_id text NOT NULL,
     run_id text NOT NULL,
     scheduled_for timestamptz NOT NULL,
     attempt integer NOT NULL,
     trigger text NOT NULL,
     status text NOT NULL,
     duration_ms double precision NOT NULL,
     error text,
     ts timestamptz NOT NULL
   );
   CREATE INDEX mc_executions_by_task ON mc_executions (tenant, task_id, seq);
   CREATE INDEX mc_executions_by_time ON mc_executions (ts);`,
  // Delivery records: a run's key before and after its output was posted.
  `CREATE TABLE mc_deliveries (
     run_id text NOT NULL,
     phase text NOT NULL CHECK (phase IN ('posting', 'posted')),
     task_id text NOT NULL,
     channel_id text NOT NULL,
     ts timestamptz NOT NULL,
     PRIMARY KEY (run_id, phase)
   );
   CREATE INDEX mc_deliveries_by_time ON mc_deliveries (ts);`,
];

/** The schema version this code reads and writes. */
export const PG_SCHEMA_VERSION = MIGRATIONS.length;

export class PgSchemaError extends StartupError {
  override name = "PgSchemaError";
}

/**
 * An empty database gets the schema, an older one the steps it lacks; one newer than the code
 * is refused, with what to do. Several processes starting at once take turns (an advisory lock).
 */
export async function ensureSchema(pool: pg.Pool, shownUrl: string): Promise<{ created: boolean }> {
  const client = await pool.connect();
  try {
    await client.query("SELECT pg_advisory_lock(hashtext('mission_control_schema'))");
    const exists = await client.query<{ ok: boolean }>(
      "SELECT to_regclass('mc_meta') IS NOT NULL AS ok",
    );
    const found = exists.rows[0]?.ok
      ? await client.query<{ value: number }>(
          "SELECT value::int AS value FROM mc_meta WHERE key = 'schema_version'",
        )
      : null;
    const version = found?.rows[0]?.value ?? 0;
    if (version === PG_SCHEMA_VERSION) return { created: false };
    if (version > PG_SCHEMA_VERSION)
      throw new PgSchemaError(
        `The database at ${shownUrl} has schema version ${version}, newer than this version of Mission Control understands (${PG_SCHEMA_VERSION}); upgrade Mission Control.`,
      );
    // Older: the steps it lacks, in one transaction (they only add).
    await client.query("BEGIN");
    for (const step of MIGRATIONS.slice(version)) await client.query(step);
    await client.query(
      `INSERT INTO mc_meta (key, value) VALUES ('schema_version', $1::jsonb)
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
      [JSON.stringify(PG_SCHEMA_VERSION)],
    );
    await client.query("COMMIT");
    return { created: version === 0 };
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    await client
      .query("SELECT pg_advisory_unlock(hashtext('mission_control_schema'))")
      .catch(() => {});
    client.release();
  }
}
