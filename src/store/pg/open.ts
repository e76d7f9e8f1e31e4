import { mkdir } from "node:fs/promises";
import type pg from "pg";
import { StartupError } from "../../shared/errors.ts";
import type { Logger } from "../../shared/logger.ts";
import { type LockHolder, lockDataDir } from "../lock.ts";
import type { Store } from "../store.ts";
import { connectPostgres, redactUrl } from "./connect.ts";
import { PgStore } from "./pg-store.ts";

// DATABASE_URL: the store on PostgreSQL. The data folder is still locked as with the file store
// (the execution log, outputs and the control socket live there, so a CLI command beside a
// running bot talks to it). Until runs are shared out between processes, one bot process
// schedules per database: a second one refuses to start, as a second one on a data folder does.
// CLI commands (other processes) open the store freely; the bot hears of their changes.

const INSTANCE_LOCK = "hashtext('mission_control_scheduler')";

export class DatabaseInUseError extends StartupError {
  override name = "DatabaseInUseError";
}

export async function openPgStore(opts: {
  url: string;
  dataDir: string;
  log: Logger;
  lockHolder?: LockHolder;
  /** False when the data folder is held already (a migration holds the file store's). */
  lockDir?: boolean;
}): Promise<Store> {
  const shown = redactUrl(opts.url);
  try {
    await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new StartupError(`DATA_DIR ${opts.dataDir} cannot be created: ${(err as Error).message}`);
  }
  const dirLock =
    opts.lockDir === false
      ? { release: async () => {} }
      : await lockDataDir(opts.dataDir, { holder: opts.lockHolder ?? "bot" });
  let pool: pg.Pool | null = null;
  let held: pg.PoolClient | null = null;
  const release = async () => {
    held?.release();
    await pool?.end().catch(() => {});
    await dirLock.release();
  };
  try {
    pool = await connectPostgres(opts.url, { log: opts.log });
    if ((opts.lockHolder ?? "bot") === "bot") {
      // Held by this connection for the life of the process; a crash frees it at once.
      held = await pool.connect();
      const { rows } = await held.query<{ ok: boolean }>(
        `SELECT pg_try_advisory_lock(${INSTANCE_LOCK}) AS ok`,
      );
      if (!rows[0]?.ok) {
        throw new DatabaseInUseError(
          `Another Mission Control bot is running on the database at ${shown}; for now one bot process schedules per database — stop it first`,
        );
      }
    }
    return await PgStore.open({ pool, shownUrl: shown, log: opts.log, onClose: release });
  } catch (err) {
    await release();
    throw err;
  }
}
