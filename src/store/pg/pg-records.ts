import type pg from "pg";
import { GoalSchema, ReminderSchema, ServerSchema, TaskSchema } from "../../tasks/model.ts";
import { type Change, itemKey } from "../changes.ts";
import { type Db, DbSchema } from "../db-schema.ts";
import { SCHEMA_VERSION } from "../store.ts";
import { LISTS, type ListName } from "./pg-schema.ts";

// Records as rows of mc_records: their keys, reading them, and writing a change checked against
// the versions a process last saw.

export type Item = { readonly id: string | number; readonly guildId?: string };
export type RowKey = { tenant: string; list: ListName; id: string };
export interface Row extends RowKey {
  data: unknown;
  version: number;
}
/** rowKeyText -> version */
export type Versions = Map<string, number>;
type RowChange = Exclude<Change, ["set", ...unknown[]]>;

/** A change's key as the tracker writes it ("tenant/id"; a server's is its id) as a row's. */
export const rowKeyOf = (list: ListName, key: string | number): RowKey => {
  const text = String(key);
  if (list === "servers") return { tenant: text, list, id: text };
  const slash = text.indexOf("/");
  return { tenant: text.slice(0, slash), list, id: text.slice(slash + 1) };
};
export const rowKeyText = (k: RowKey) => `${k.list}\u0000${k.tenant}\u0000${k.id}`;
export const keyOfItem = (list: ListName, item: Item) => rowKeyOf(list, itemKey(item));

const ITEM_SCHEMAS = {
  tasks: TaskSchema,
  goals: GoalSchema,
  reminders: ReminderSchema,
  servers: ServerSchema,
} as const;

export function parseItem(list: ListName, data: unknown): Item {
  return ITEM_SCHEMAS[list].parse(data) as Item;
}

/** Every record, in the order added, checked by the same schema as db.json's. */
export async function loadAll(pool: pg.Pool): Promise<{ db: Db; versions: Versions }> {
  const { rows } = await pool.query<Row>(
    "SELECT tenant, list, id, data, version FROM mc_records ORDER BY seq",
  );
  const raw: Record<string, unknown[]> = Object.fromEntries(LISTS.map((l) => [l, []]));
  const versions: Versions = new Map();
  for (const row of rows) {
    raw[row.list]?.push(row.data);
    versions.set(rowKeyText(row), row.version);
  }
  const db = DbSchema.parse({ schemaVersion: SCHEMA_VERSION, ...raw });
  return { db, versions };
}

/** The rows of these keys as stored now (absent ones: gone). */
export async function readRows(pool: pg.Pool, keys: RowKey[]): Promise<Row[]> {
  const { rows } = await pool.query<Row>(
    "SELECT tenant, list, id, data, version FROM mc_records WHERE (tenant, list, id) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))",
    [keys.map((k) => k.tenant), keys.map((k) => k.list), keys.map((k) => k.id)],
  );
  return rows;
}

/**
 * Writes each change inside the caller's transaction, each row only if it is still at the
 * version in `versions` (absent: it must not exist yet). False at the first row another
 * process changed first; the caller rolls back.
 */
export async function writeRows(
  client: pg.PoolClient,
  changes: RowChange[],
  keys: RowKey[],
  versions: Versions,
): Promise<boolean> {
  for (const [i, change] of changes.entries()) {
    const key = keys[i] as RowKey;
    const known = versions.get(rowKeyText(key));
    let res: pg.QueryResult;
    if (change[0] === "del") {
      res = await client.query(
        "DELETE FROM mc_records WHERE tenant = $1 AND list = $2 AND id = $3 AND version = $4",
        [key.tenant, key.list, key.id, known ?? -1],
      );
    } else if (known === undefined) {
      res = await client.query(
        "INSERT INTO mc_records (tenant, list, id, data, version) VALUES ($1, $2, $3, $4, 1) ON CONFLICT DO NOTHING",
        [key.tenant, key.list, key.id, JSON.stringify(change[2])],
      );
    } else {
      res = await client.query(
        "UPDATE mc_records SET data = $4, version = version + 1, changed_at = now() WHERE tenant = $1 AND list = $2 AND id = $3 AND version = $5",
        [key.tenant, key.list, key.id, JSON.stringify(change[2]), known],
      );
    }
    if (res.rowCount !== 1) return false;
  }
  return true;
}
