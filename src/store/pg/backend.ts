import type { Logger } from "../../shared/logger.ts";
import type { DeliveryRecords } from "../delivery-records.ts";
import type { ExecutionRecords } from "../execution-records.ts";
import type { LockHolder } from "../lock.ts";
import { openPgStore } from "./open.ts";
import { PgDeliveryRecords } from "./pg-deliveries.ts";
import { PgExecutionLog } from "./pg-execution-log.ts";
import { type ExecuteRun, PgRunQueue } from "./pg-run-queue.ts";
import type { PgStore } from "./pg-store.ts";

// Everything the composition root takes from PostgreSQL, in the one module it loads only when
// DATABASE_URL is set: a bot on the JSON file never loads `pg`.

export async function openPostgres(opts: {
  url: string;
  dataDir: string;
  log: Logger;
  lockHolder?: LockHolder;
  lockName?: string;
  now: () => number;
}): Promise<{
  store: PgStore;
  executionLog: ExecutionRecords;
  deliveries: DeliveryRecords;
  /** The runs every bot process on the database shares; `execute` starts one taken here. */
  runQueue(execute: ExecuteRun, opts?: { submitOnly?: boolean }): Promise<PgRunQueue>;
}> {
  const store = await openPgStore(opts);
  return {
    store,
    executionLog: new PgExecutionLog(store.pool),
    deliveries: new PgDeliveryRecords(store.pool, opts.now),
    runQueue: (execute, more) =>
      PgRunQueue.open({ pool: store.pool, execute, log: opts.log, ...more }),
  };
}
