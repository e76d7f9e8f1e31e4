import type pg from "pg";
import { StartupError } from "../../shared/errors.ts";
import type { Logger } from "../../shared/logger.ts";

// Which bot process schedules on a database: the one holding a session-level advisory lock, on
// a connection of its own. PostgreSQL frees the lock when that connection goes (a crash, a
// network cut), so this process must stop scheduling then, and start again only once it holds
// the lock again: another process may have taken it meanwhile.

const LOCK = "hashtext('mission_control_scheduler')";
const RETRY_MS = { first: 250, max: 5_000 };

export class DatabaseInUseError extends StartupError {
  override name = "DatabaseInUseError";
}

export class SchedulingLease {
  #client: pg.PoolClient | null;
  #closed = false;
  readonly #listeners = new Set<(held: boolean) => void>();

  private constructor(
    private readonly pool: pg.Pool,
    client: pg.PoolClient,
    private readonly log: Logger,
  ) {
    this.#client = client;
    this.#watch(client);
  }

  /** Takes the lock, or refuses: another bot schedules on this database. */
  static async acquire(pool: pg.Pool, shown: string, log: Logger): Promise<SchedulingLease> {
    const client = await pool.connect();
    if (await tryLock(client)) return new SchedulingLease(pool, client, log);
    client.release();
    throw new DatabaseInUseError(
      `Another Mission Control bot is running on the database at ${shown}; for now one bot process schedules per database — stop it first`,
    );
  }

  get held(): boolean {
    return this.#client !== null;
  }

  /** Called with false when the lock is lost, and true when it is held again. */
  onChange(listener: (held: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async release(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = null;
    if (!client) return;
    await client.query(`SELECT pg_advisory_unlock(${LOCK})`).catch(() => {});
    client.release();
  }

  #watch(client: pg.PoolClient): void {
    const lost = () => {
      if (this.#client !== client) return;
      this.#client = null;
      client.release(true);
      if (this.#closed) return;
      this.log.warn("lost the connection that holds the scheduling lock: scheduling paused");
      for (const l of this.#listeners) l(false);
      void this.#regain();
    };
    client.on("error", lost);
    client.on("end", lost);
  }

  async #regain(): Promise<void> {
    for (let wait = RETRY_MS.first; !this.#closed; wait = Math.min(wait * 2, RETRY_MS.max)) {
      await new Promise((r) => setTimeout(r, wait));
      const client = await this.pool.connect().catch(() => null);
      if (!client) continue;
      client.on("error", () => {}); // until #watch takes over
      if (!(await tryLock(client).catch(() => false)) || this.#closed) {
        client.release(true);
        continue;
      }
      this.#client = client;
      this.#watch(client);
      this.log.info("holds the scheduling lock again: scheduling resumed");
      for (const l of this.#listeners) l(true);
      return;
    }
  }
}

async function tryLock(client: pg.PoolClient): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>(
    `SELECT pg_try_advisory_lock(${LOCK}) AS ok`,
  );
  return rows[0]?.ok === true;
}
