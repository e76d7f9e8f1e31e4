import { Low } from "lowdb";
import { MissionControlError } from "../shared/errors.ts";
import type { Task } from "../tasks/model.ts";
import { recordKey, type Tenant } from "../tasks/tenant.ts";
import { ChangeTracker } from "./changes.ts";
import { type Db, DbSchema } from "./db-schema.ts";
import { type Files, newBase, readDisk, serialize, shown, writeSnapshot } from "./disk.ts";
import type { Store, TaskListener } from "./store.ts";

const keyOf = (t: Task) => recordKey(t.guildId, t.id);

/** How long a change made with `updateSoon` may wait for its write. */
export const DEFER_MS = 500;

export class StoreWriteError extends MissionControlError {
  override name = "StoreWriteError";
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    super(
      `could not save ${file}: ${(cause as Error)?.message ?? cause}; the change was not kept`,
      {
        cause,
      },
    );
  }
}

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

export class LowStore implements Store {
  readonly #low: Low<Db>;
  readonly #disk: Files;
  readonly #tracker = new ChangeTracker();
  /** The last journal line written: in db.json or in the journal. */
  #seq: number;
  /** db.json's journalBase: every journal line written on it carries it. */
  #base: string;
  #snapshotBytes = 0;
  /** Set when a write failed and memory could not be reloaded: only a whole-file write is safe. */
  #mustCompact = false;
  #waiting: Waiter[] = [];
  #flushing: Promise<void> | null = null;
  /** Changes made with updateSoon that no write has started on yet. */
  #deferred: Waiter[] = [];
  #deferTimer: ReturnType<typeof setTimeout> | null = null;
  #lastDeferredWrite = Number.NEGATIVE_INFINITY;
  /** tenant -> id -> position in data.tasks, for the array it was built from. */
  #index = new Map<Tenant, Map<string, number>>();
  #indexed: Task[] | null = null;
  #indexedLength = 0;
  readonly #listeners = new Set<TaskListener>();

  constructor(
    disk: Files,
    initial: Db,
    snapshot: { seq: number; base: string; bytes: number },
    readonly created: boolean,
    private readonly compactAt: number,
    private readonly releaseLock: () => Promise<void>,
  ) {
    this.#disk = disk;
    this.#seq = snapshot.seq;
    this.#base = snapshot.base;
    this.#snapshotBytes = snapshot.bytes;
    this.#tracker.reset(initial);
    this.#low = new Low<Db>(
      {
        // Only used to fall back to the disk after a failed write: it is the last good state.
        read: async () => {
          const stored = await readDisk(disk);
          if (!stored) return null;
          this.#seq = stored.seq;
          if (stored.base) this.#base = stored.base;
          const db = DbSchema.parse(stored.raw);
          this.#tracker.reset(db);
          this.#mustCompact = false;
          return db;
        },
        write: (db) => this.#write(db),
      },
      initial,
    );
  }

  get file(): string {
    return this.#disk.durable.path;
  }

  get data(): Db {
    return this.#low.data;
  }

  /** One journal line with what changed, or, once the journal is big, all of db.json. */
  async #write(db: Db): Promise<void> {
    const changes = this.#tracker.diff(db);
    const big = this.#disk.journal.size > Math.max(this.compactAt, this.#snapshotBytes);
    try {
      if (this.#mustCompact || big || !this.#disk.journal.usable) await this.#compact(db);
      else if (changes.length) {
        await this.#disk.journal.append({ seq: this.#seq + 1, base: this.#base, changes });
        this.#seq++;
      }
    } catch (err) {
      this.#mustCompact = true;
      throw err;
    }
  }

  /**
   * Rewrites db.json with everything. Sealed only at a clean stop and only if the state is
   * valid (the seal lets the next start skip the check); checking every task on each rewrite
   * while running would cost as much as the rewrite.
   */
  async #compact(db: Db, stopping = false): Promise<void> {
    const base = newBase();
    const text = serialize(db, this.#seq, base);
    await writeSnapshot(this.#disk, text, stopping && DbSchema.safeParse(db).success);
    this.#base = base;
    this.#snapshotBytes = text.length;
    this.#mustCompact = false;
    // db.json now holds every line; one left behind is skipped on replay (its seq is older),
    // and a journal whose tail is unknown keeps every write going to db.json until it clears.
    await this.#disk.journal.clear().catch(() => {});
  }

  task(tenant: Tenant, id: string): Task | undefined {
    const i = this.#position(tenant, id);
    return i < 0 ? undefined : this.#low.data.tasks[i];
  }

  tasksOf(tenant: Tenant): Task[] {
    return this.#low.data.tasks.filter((t) => t.guildId === tenant);
  }

  putTask(next: Task): void {
    const tasks = this.#low.data.tasks;
    const i = this.#position(next.guildId, next.id);
    const before = i < 0 ? undefined : tasks[i];
    if (i < 0) tasks.push(next);
    else tasks[i] = next;
    this.#emit(before, next);
  }

  removeTask(tenant: Tenant, id: string): Task | undefined {
    const before = this.task(tenant, id);
    if (!before) return undefined;
    this.#low.data.tasks = this.#low.data.tasks.filter((t) => t !== before);
    this.#emit(before, undefined);
    return before;
  }

  onTaskChange(listener: TaskListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(before: Task | undefined, after: Task | undefined): void {
    for (const listener of this.#listeners) listener(before, after);
  }

  /** After memory was put back to the disk's state: every task that differs is a change. */
  #emitReload(previous: Task[]): void {
    const now = new Map(this.#low.data.tasks.map((t) => [keyOf(t), t]));
    for (const old of previous) {
      if (now.get(keyOf(old)) !== old) this.#emit(old, now.get(keyOf(old)));
      now.delete(keyOf(old));
    }
    for (const added of now.values()) this.#emit(undefined, added);
  }

  /** Where the tenant's task with this id is in data.tasks, or -1. */
  #position(tenant: Tenant, id: string): number {
    const tasks = this.#low.data.tasks;
    if (this.#indexed !== tasks) this.#reindex(tasks);
    // Appends are the common change: index them as they come.
    for (let i = this.#indexedLength; i < tasks.length; i++) {
      const t = tasks[i] as Task;
      const ids = this.#index.get(t.guildId) ?? new Map<string, number>();
      this.#index.set(t.guildId, ids);
      if (!ids.has(t.id)) ids.set(t.id, i); // the first, as find() would
    }
    this.#indexedLength = tasks.length;
    const i = this.#index.get(tenant)?.get(id);
    const at = i === undefined ? undefined : tasks[i];
    if (at && at.id === id && at.guildId === tenant) return i as number;
    // A miss, or an entry made stale by a change in place: a scan decides, and a stale index is
    // rebuilt. Misses are rare (a duplicate check, an unknown id), so the scan costs little.
    const found = tasks.findIndex((t) => t.id === id && t.guildId === tenant);
    if (found >= 0) this.#reindex(tasks);
    return found;
  }

  #reindex(tasks: Task[]): void {
    this.#index.clear();
    this.#indexed = tasks;
    this.#indexedLength = 0;
  }

  update<T>(fn: (db: Db) => T): Promise<T> {
    let result: T;
    try {
      result = fn(this.#low.data);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<T>((resolve, reject) => {
      this.#waiting.push({ resolve: () => resolve(result), reject });
      this.#flushing ??= this.#flush();
    });
  }

  updateSoon<T>(fn: (db: Db) => T): { result: T; written: Promise<void> } {
    const result = fn(this.#low.data);
    const written = new Promise<void>((resolve, reject) => {
      this.#deferred.push({ resolve, reject });
    });
    if (!this.#deferTimer) {
      // At most one such write per DEFER_MS; after a quiet spell, at once (in the next tick,
      // with whatever else arrives meanwhile).
      const wait = Math.max(0, this.#lastDeferredWrite + DEFER_MS - performance.now());
      this.#deferTimer = setTimeout(() => {
        this.#deferTimer = null;
        this.#lastDeferredWrite = performance.now();
        this.#writeDeferred();
      }, wait);
    }
    return { result, written };
  }

  /** Hands the deferred changes to the next write (they are already in memory). */
  #writeDeferred(): void {
    if (!this.#deferred.length) return;
    this.#waiting.push(...this.#deferred);
    this.#deferred = [];
    this.#flushing ??= this.#flush();
  }

  async #flush(): Promise<void> {
    while (this.#waiting.length) {
      // Every change applied so far is in memory, so this write carries the deferred ones too.
      const batch = this.#waiting.concat(this.#deferred);
      this.#waiting = [];
      this.#deferred = [];
      if (this.#deferTimer) clearTimeout(this.#deferTimer);
      this.#deferTimer = null;
      try {
        await this.#low.write();
        for (const w of batch) w.resolve();
      } catch (cause) {
        // Memory must not claim what the disk lacks: every change not yet written is dropped,
        // its caller told, and the state reloaded from the last good file.
        const failed = [...batch, ...this.#waiting, ...this.#deferred];
        this.#waiting = [];
        this.#deferred = [];
        if (this.#deferTimer) clearTimeout(this.#deferTimer);
        this.#deferTimer = null;
        const previous = this.#low.data.tasks;
        await this.#low.read().catch(() => {});
        this.#emitReload(previous);
        for (const w of failed) w.reject(new StoreWriteError(shown(this.file), cause));
      }
    }
    this.#flushing = null;
  }

  async close(): Promise<void> {
    while (this.#flushing || this.#deferred.length) {
      this.#writeDeferred();
      await this.#flushing;
    }
    // A clean stop leaves everything in db.json (a failure here loses nothing: the journal is
    // replayed on the next start).
    if (this.#disk.journal.size) await this.#compact(this.data, true).catch(() => {});
    await this.releaseLock();
  }
}
