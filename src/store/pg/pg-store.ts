import type pg from "pg";
import { ConflictError, MissionControlError } from "../../shared/errors.ts";
import type { Logger } from "../../shared/logger.ts";
import type { Task } from "../../tasks/model.ts";
import { recordKey, type Tenant } from "../../tasks/tenant.ts";
import { type Change, ChangeTracker, itemKey } from "../changes.ts";
import type { Db } from "../db-schema.ts";
import { DEFER_MS } from "../low-store.ts";
import type { Store, TaskListener } from "../store.ts";
import {
  type Item,
  keyOfItem,
  loadAll,
  parseItem,
  type RowKey,
  readRows,
  rowKeyOf,
  rowKeyText,
  writeRows,
} from "./pg-records.ts";
import { ensureSchema, LISTS, type ListName } from "./pg-schema.ts";

// The store on PostgreSQL, for several processes on one database. Each process keeps the whole
// state in memory, as the file store does (reads are plain property reads, and the store's
// contract stays synchronous); a change is written as rows in one transaction, each row
// checked against the version this process last saw, so two processes changing the same task
// at once cannot both win: the second gets a ConflictError and its change is undone. After a
// commit, NOTIFY tells the other processes which rows changed; they read those rows back.

const CHANNEL = "mission_control_records";
/**
 * A NOTIFY payload is at most 8,000 bytes: a change of more rows than fit is told in several,
 * all sent at its commit (reading every record back instead took a busy process's time).
 */
const NOTIFY_MAX_BYTES = 7_900;

/** A write lost to another process's change of the same record. */
export class ConcurrentChangeError extends ConflictError {
  override name = "ConcurrentChangeError";
  constructor() {
    super(
      "this was changed by another Mission Control process at the same moment; nothing was changed here — look again and retry",
    );
  }
}

export class PgWriteError extends MissionControlError {
  override name = "PgWriteError";
  constructor(cause: unknown) {
    super(
      `could not save to PostgreSQL: ${(cause as Error)?.message ?? cause}; the change was not kept`,
      { cause },
    );
  }
}

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
  /** Bookkeeping (updateSoon) applies its change again on what another process stored. */
  redo?: () => void;
  tries?: number;
}

/**
 * How often bookkeeping is applied again after losing to another process's write: processes
 * that share a task's runs write its history counters within moments of each other.
 */
const REDO_TRIES = 10;

export class PgStore implements Store {
  readonly data: Db;
  readonly #tracker = new ChangeTracker();
  /** Each row's version as this process last wrote or read it. */
  readonly #versions = new Map<string, number>();
  readonly #listeners = new Set<TaskListener>();
  readonly #schedulingListeners = new Set<(allowed: boolean) => void>();
  /** tenant/id -> position in data.tasks, for the list and length it was built on. */
  #index: Map<string, number> | null = null;
  #indexed: Task[] | null = null;
  #indexedLength = 0;
  #waiting: Waiter[] = [];
  #deferred: Waiter[] = [];
  #deferTimer: ReturnType<typeof setTimeout> | null = null;
  #flushing: Promise<void> | null = null;
  #listener: pg.PoolClient | null = null;
  /** Told of rows other processes changed, one read at a time, in order. */
  #applying: Promise<void> = Promise.resolve();
  readonly #origin = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  #closed = false;

  private constructor(
    /** Its connections, shared with the execution log's table. */
    readonly pool: pg.Pool,
    initial: Db,
    versions: Map<string, number>,
    readonly file: string,
    readonly created: boolean,
    private readonly log?: Logger,
    private readonly onClose?: () => Promise<void>,
  ) {
    this.data = initial;
    for (const [k, v] of versions) this.#versions.set(k, v);
    this.#tracker.reset(initial);
  }

  /** Creates the schema on an empty database, then loads every record. */
  static async open(opts: {
    pool: pg.Pool;
    shownUrl: string;
    log?: Logger;
    /** After the store is closed (the pool's owner ends it). */
    onClose?: () => Promise<void>;
  }): Promise<PgStore> {
    const { created } = await ensureSchema(opts.pool, opts.shownUrl);
    const { db, versions } = await loadAll(opts.pool);
    const store = new PgStore(
      opts.pool,
      db,
      versions,
      opts.shownUrl,
      created,
      opts.log,
      opts.onClose,
    );
    await store.#listen();
    return store;
  }

  update<T>(fn: (db: Db) => T): Promise<T> {
    let result: T;
    try {
      result = fn(this.data);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<T>((resolve, reject) => {
      this.#waiting.push({ resolve: () => resolve(result), reject });
      void this.#flush();
    });
  }

  updateSoon<T>(fn: (db: Db) => T): { result: T; written: Promise<void> } {
    const result = fn(this.data);
    const written = new Promise<void>((resolve, reject) => {
      this.#defer({ resolve, reject, redo: () => fn(this.data), tries: 0 });
    });
    return { result, written };
  }

  #defer(waiter: Waiter): void {
    this.#deferred.push(waiter);
    this.#deferTimer ??= setTimeout(() => {
      this.#deferTimer = null;
      void this.#flush();
    }, DEFER_MS);
  }

  /**
   * A run's history counters lost to another process's write of the same task (processes
   * share the runs of a task): counted again on the task as now stored, and written later.
   */
  #redo(waiter: Waiter, err: unknown): void {
    const tries = waiter.tries ?? 0;
    if (!(err instanceof ConcurrentChangeError) || !waiter.redo || tries >= REDO_TRIES) {
      waiter.reject(err);
      return;
    }
    waiter.tries = tries + 1;
    try {
      waiter.redo();
    } catch (e) {
      waiter.reject(e);
      return;
    }
    this.#defer(waiter);
  }

  task(tenant: Tenant, id: string): Task | undefined {
    const i = this.#positions().get(recordKey(tenant, id));
    const found = i === undefined ? undefined : this.data.tasks[i];
    if (!found || (found.guildId === tenant && found.id === id)) return found;
    this.#index = null; // a list changed in place by a caller: look again, once
    const j = this.#positions().get(recordKey(tenant, id));
    return j === undefined ? undefined : this.data.tasks[j];
  }

  tasksOf(tenant: Tenant): Task[] {
    return this.data.tasks.filter((t) => t.guildId === tenant);
  }

  putTask(next: Task): void {
    const i = this.#positions().get(recordKey(next.guildId, next.id));
    const before = i === undefined ? undefined : this.data.tasks[i];
    if (i === undefined) {
      this.#positions().set(recordKey(next.guildId, next.id), this.data.tasks.push(next) - 1);
      this.#indexedLength = this.data.tasks.length;
    } else this.data.tasks[i] = next;
    this.#emit(before, next);
  }

  removeTask(tenant: Tenant, id: string): Task | undefined {
    const i = this.#positions().get(recordKey(tenant, id));
    if (i === undefined) return undefined;
    const before = this.data.tasks[i] as Task;
    this.data.tasks = this.data.tasks.filter((_, j) => j !== i);
    this.#index = null;
    this.#emit(before, undefined);
    return before;
  }

  /**
   * Scheduling follows the listening connection: while it is lost, this process cannot hear
   * other processes' changes (nor, most likely, reach the database at all), so it stops; once
   * it is back and has read everything again, it resumes.
   */
  onSchedulingChange(listener: (allowed: boolean) => void): () => void {
    this.#schedulingListeners.add(listener);
    return () => this.#schedulingListeners.delete(listener);
  }

  onTaskChange(listener: TaskListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#deferTimer) clearTimeout(this.#deferTimer);
    this.#deferTimer = null;
    await this.#flush();
    await this.#applying;
    if (this.#listener) {
      await this.#listener.query(`UNLISTEN ${CHANNEL}`).catch(() => {});
      this.#listener.release();
      this.#listener = null;
    }
    await this.onClose?.();
  }

  // ---- writing

  /** Writes everything changed so far, one transaction at a time; callers share a write. */
  async #flush(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    if (!this.#waiting.length && !this.#deferred.length) return;
    const waiters = [...this.#waiting, ...this.#deferred];
    this.#waiting = [];
    this.#deferred = [];
    if (this.#deferTimer) clearTimeout(this.#deferTimer);
    this.#deferTimer = null;
    for (const list of LISTS) this.#tracker.scan(list);
    const changes = this.#tracker.diff(this.data);
    this.#flushing = this.#write(changes).then(
      () => {
        for (const w of waiters) w.resolve();
      },
      (err) => {
        for (const w of waiters) this.#redo(w, err);
      },
    );
    try {
      await this.#flushing;
    } finally {
      this.#flushing = null;
    }
  }

  async #write(changes: Change[]): Promise<void> {
    const rows = changes.filter((c) => c[0] !== "set") as Exclude<Change, ["set", ...unknown[]]>[];
    if (!rows.length) return;
    const keys = rows.map((c) =>
      c[0] === "put" ? keyOfItem(c[1] as ListName, c[2]) : rowKeyOf(c[1] as ListName, c[2]),
    );
    const client = await this.pool.connect().catch(async (err) => {
      await this.#undo(keys);
      throw new PgWriteError(err);
    });
    let conflict = false;
    try {
      await client.query("BEGIN");
      conflict = !(await writeRows(client, rows, keys, this.#versions));
      if (conflict) {
        await client.query("ROLLBACK");
      } else {
        await client.query("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", [
          CHANNEL,
          notices(this.#origin, keys),
        ]);
        await client.query("COMMIT");
        for (const [i, change] of rows.entries()) {
          const k = rowKeyText(keys[i] as RowKey);
          if (change[0] === "del") this.#versions.delete(k);
          else this.#versions.set(k, (this.#versions.get(k) ?? 0) + 1);
        }
        return;
      }
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      await this.#undo(keys);
      throw new PgWriteError(err);
    } finally {
      client.release();
    }
    // Another process changed one of these rows first: memory goes back to what is stored.
    await this.#reread(keys);
    throw new ConcurrentChangeError();
  }

  /**
   * After a failed write, memory goes back to what is stored, as the file store goes back to
   * its last good file; while the database cannot be read, it keeps trying, in the background.
   */
  async #undo(keys: RowKey[]): Promise<void> {
    try {
      await this.#reread(keys);
    } catch {
      void this.#catchUp();
    }
  }

  async #catchUp(): Promise<void> {
    for (let wait = 250; !this.#closed; wait = Math.min(wait * 2, 5_000)) {
      await new Promise((r) => setTimeout(r, wait));
      try {
        await this.#rereadAll();
        return;
      } catch {
        // Still unreachable; the listening connection's own retries log it.
      }
    }
  }

  // ---- other processes' changes

  async #listen(): Promise<void> {
    const client = await this.pool.connect();
    client.on("notification", (msg) => {
      if (msg.channel !== CHANNEL || !msg.payload) return;
      const { origin, keys } = JSON.parse(msg.payload) as { origin: string; keys: RowKey[] };
      if (origin === this.#origin) return;
      // Changes not written yet go first: read over, they would be lost; written, the ones on
      // the same records lose to the other process's, and bookkeeping is applied again.
      this.#applying = this.#applying
        .then(() => this.#flush().catch(() => {}))
        .then(() => this.#reread(keys, true))
        .catch((err) => this.log?.error({ err }, "could not read another process's change"));
    });
    const lost = () => void this.#relisten(client);
    client.on("error", lost);
    client.on("end", lost);
    await client.query(`LISTEN ${CHANNEL}`);
    this.#listener = client;
  }

  /**
   * The listening connection went (a restart of the server, a network cut): connect again,
   * then read everything, for the changes missed meanwhile (and any write whose undo failed).
   */
  async #relisten(old: pg.PoolClient): Promise<void> {
    if (this.#listener !== old) return;
    this.#listener = null;
    old.release(true);
    if (this.#closed) return;
    this.log?.warn(
      "lost the PostgreSQL connection that hears other processes' changes: scheduling paused; reconnecting",
    );
    for (const l of this.#schedulingListeners) l(false);
    for (let wait = 250; !this.#closed; wait = Math.min(wait * 2, 5_000)) {
      await new Promise((r) => setTimeout(r, wait));
      try {
        await this.#listen();
        await this.#rereadAll();
        this.log?.info(
          "reconnected to PostgreSQL; caught up with other processes' changes: scheduling resumed",
        );
        for (const l of this.#schedulingListeners) l(true);
        return;
      } catch (err) {
        this.log?.warn({ err: (err as Error).message }, "PostgreSQL still unreachable; retrying");
      }
    }
  }

  /**
   * Puts these rows in memory as they are stored now (gone ones removed). `onlyChanged`, for
   * another process's change: a row still at the version this process last read or wrote is
   * left as it is here (it may hold bookkeeping applied again on top, not written yet).
   */
  async #reread(keys: RowKey[], onlyChanged = false): Promise<void> {
    if (!keys.length) return;
    const rows = await readRows(this.pool, keys);
    const found = new Map(rows.map((r) => [rowKeyText(r), r]));
    for (const key of keys) {
      const row = found.get(rowKeyText(key));
      const known = this.#versions.get(rowKeyText(key));
      if (onlyChanged && row && row.version === known) continue;
      this.#accept(key, row ? parseItem(key.list, row.data) : undefined, row?.version);
    }
  }

  async #rereadAll(): Promise<void> {
    const { db, versions } = await loadAll(this.pool);
    const before = new Map(this.data.tasks.map((t) => [recordKey(t.guildId, t.id), t]));
    for (const list of LISTS)
      (this.data as Record<ListName, Item[]>)[list] = db[list] as Item[] as never;
    this.#versions.clear();
    for (const [k, v] of versions) this.#versions.set(k, v);
    this.#tracker.reset(this.data);
    this.#index = null;
    for (const task of this.data.tasks) {
      const old = before.get(recordKey(task.guildId, task.id));
      before.delete(recordKey(task.guildId, task.id));
      if (old !== task) this.#emit(old, task);
    }
    for (const gone of before.values()) this.#emit(gone, undefined);
  }

  /** A record as stored now, in memory: replaced, added or removed; the tracker agrees. */
  #accept(key: RowKey, item: Item | undefined, version: number | undefined): void {
    const list = (this.data as Record<ListName, Item[]>)[key.list];
    const itemId = key.list === "servers" ? key.id : `${key.tenant}/${key.id}`;
    // Tasks by the index: a busy process hears of other processes' runs many times a second.
    const i =
      key.list === "tasks"
        ? (this.#positions().get(itemId) ?? -1)
        : list.findIndex((x) => String(itemKey(x)) === itemId);
    const before = i < 0 ? undefined : list[i];
    if (item && i >= 0) list[i] = item;
    else if (item) list.push(item);
    else if (i >= 0)
      (this.data as Record<ListName, Item[]>)[key.list] = list.filter((_, j) => j !== i) as never;
    if (version === undefined) this.#versions.delete(rowKeyText(key));
    else this.#versions.set(rowKeyText(key), version);
    this.#tracker.accept(key.list, itemKey(item ?? (before as Item)), item);
    if (key.list === "tasks" && before !== item)
      this.#emit(before as Task | undefined, item as Task | undefined);
  }

  /**
   * tenant/id -> position in data.tasks. Kept across writes (a run's bookkeeping writes one
   * task, and rebuilding this for every run was most of a busy process's time); rebuilt when
   * the list was replaced (a removal, a reread) or grew behind putTask's back.
   */
  #positions(): Map<string, number> {
    const tasks = this.data.tasks;
    if (!this.#index || this.#indexed !== tasks || this.#indexedLength !== tasks.length) {
      this.#index = new Map(tasks.map((t, i) => [recordKey(t.guildId, t.id), i]));
      this.#indexed = tasks;
      this.#indexedLength = tasks.length;
    }
    return this.#index;
  }

  #emit(before: Task | undefined, after: Task | undefined): void {
    for (const l of this.#listeners) l(before, after);
  }
}

/** The payloads that tell other processes of these rows, each within NOTIFY's limit. */
function notices(origin: string, keys: RowKey[]): string[] {
  const payloads: string[] = [];
  let chunk: RowKey[] = [];
  let bytes = 0;
  for (const key of keys) {
    const size = Buffer.byteLength(JSON.stringify(key)) + 1;
    if (chunk.length && bytes + size > NOTIFY_MAX_BYTES - 100) {
      payloads.push(JSON.stringify({ origin, keys: chunk }));
      chunk = [];
      bytes = 0;
    }
    chunk.push(key);
    bytes += size;
  }
  if (chunk.length) payloads.push(JSON.stringify({ origin, keys: chunk }));
  return payloads;
}
