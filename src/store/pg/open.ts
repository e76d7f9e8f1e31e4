import { mkdir } from "node:fs/promises";
import type pg from "pg";
import { StartupError } from "../../shared/errors.ts";
import type { Logger } from "../../shared/logger.ts";
import { type LockHolder, lockDataDir } from "../lock.ts";
import { connectPostgres, redactUrl } from "./connect.ts";
import { PgStore } from "./pg-store.ts";

// DATABASE_URL: the store on PostgreSQL. The data folder is still locked as with the file store
// (outputs and the control socket live there, so a CLI command beside a running bot talks to
// it). Any number of bot processes share one database, each with its own data folder (or its
// own shard's lock in a shared one), and share its runs through the run queue
// (pg-run-queue.ts). CLI commands open the store freely; the bots hear of their changes.

export async function openPgStore(opts: {
  url: string;
  dataDir: string;
  log: Logger;
  lockHolder?: LockHolder;
  /** False when the data folder is held already (a migration holds the file store's). */
  lockDir?: boolean;
  /** The lock's name in the data folder (a shard's own). */
  lockName?: string;
}): Promise<PgStore> {
  const shown = redactUrl(opts.url);
  try {
    await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new StartupError(`DATA_DIR ${opts.dataDir} cannot be created: ${(err as Error).message}`);
  }
  const dirLock =
    opts.lockDir === false
      ? { release: async () => {} }
      : await lockDataDir(opts.dataDir, { holder: opts.lockHolder ?? "bot", name: opts.lockName });
  let pool: pg.Pool | null = null;
  const release = async () => {
    await pool?.end().catch(() => {});
    await dirLock.release();
  };
  try {
    // Named, so a CLI command can tell whether a bot is running on the database.
    const application_name = `mission-control ${opts.lockHolder ?? "bot"}`;
    pool = await connectPostgres(opts.url, { log: opts.log, pool: { application_name } });
    return await PgStore.open({ pool, shownUrl: shown, log: opts.log, onClose: release });
  } catch (err) {
    await release();
    throw err;
  }
}
