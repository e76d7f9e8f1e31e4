import { Low } from "lowdb";
import { MissionControlError } from "../shared/errors.ts";
import { ByTask } from "../tasks/by-task.ts";
import type { Task } from "../tasks/model.ts";
import { recordKey, type Tenant } from "../tasks/tenant.ts";
import { ChangeTracker, itemKey } from "./changes.ts";
import { type Db, DbSchema } from "./db-schema.ts";
import { type Files, newBase, readDisk, serialize, shown, writeSnapshot } from "./disk.ts";
import type { Store, TaskListener } from "./store.ts";

const keyOf = (t: Task) => recordKey(t.guildId, t.id);

/** How long a change made with `updateSoon` may wait for its write. */
export const DEFER_MS = 500;

/** Removals after which the task index is rebuilt rather than searched around. */
const MAX_SHIFTS = 256;

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
  /** Changes made with updateSoon that no write has started on yet (one waiter for them all). */
  #deferred: Waiter[] = [];
  /** What updateSoon hands out while `#deferred` waits: one promise for every change in it. */
  #deferredWritten: Promise<void> | null = null;
  #deferTimer: ReturnType<typeof setTimeout> | null = null;
  #lastDeferredWrite = Number.NEGATIVE_INFINITY;
  /**
   * Each task's position in data.tasks, for the array it was built from. A position may be
   * too high by up to `#shifts`: each removal moves the tasks after it one place left.
   */
  readonly #index = new ByTask<number>();
  #indexed: Task[] | null = null;
  #indexedLength = 0;
  #shifts = 0;
  /**
   * Whether data.tasks was handed out (read or set through `data`) since the last write: then
   * it may have been changed in place, and neither the index nor the tasks touched are the
   * whole story until that write has checked it in full.
   */
  #tasksOpen = false;
  /** `data` as callers see it: the state, telling the store which lists were handed out. */
  #view: Db | null = null;
  #viewOf: Db | null = null;
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
          this.#tasksOpen = false;
          this.#indexed = null;
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
    const db = this.#low.data;
    if (this.#viewOf !== db) {
      this.#view = new Proxy(db, this.#handOut);
      this.#viewOf = db;
    }
    return this.#view as Db;
  }

  /**
   * A list taken from `data` (or from the `db` an update gets) may be changed in place, in ways
   * the store does not see; a list set there is new. Either way the next write checks that list
   * item by item. Lists changed only through putTask and removeTask are not checked: the write
   * looks at the tasks they touched.
   */
  readonly #handOut: ProxyHandler<Db> = {
    get: (db, key) => {
      const value = db[key as keyof Db];
      if (Array.isArray(value)) this.#opened(key);
      return value;
    },
    getOwnPropertyDescriptor: (db, key) => {
      const found = Reflect.getOwnPropertyDescriptor(db, key);
      if (Array.isArray(found?.value)) this.#opened(key);
      return found;
    },
    set: (db, key, value) => {
      this.#opened(key);
      return Reflect.set(db, key, value);
    },
    defineProperty: (db, key, descriptor) => {
      this.#opened(key);
      return Reflect.defineProperty(db, key, descriptor);
    },
    deleteProperty: (db, key) => {
      this.#opened(key);
      return Reflect.deleteProperty(db, key);
    },
  };

  #opened(key: string | symbol): void {
    if (typeof key !== "string") return;
    this.#tracker.scan(key);
    if (key === "tasks") this.#tasksOpen = true;
  }

  /** One journal line with what changed, or, once the journal is big, all of db.json. */
  async #write(db: Db): Promise<void> {
    const changes = this.#tracker.diff(db);
    if (this.#tasksOpen) {
      // Checked in full just now; the index is rebuilt on its next use, as it may be stale.
      this.#tasksOpen = false;
      this.#indexed = null;
    }
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
    if (i < 0) {
      // #position indexed every task up to here.
      this.#index.set(next.guildId, next.id, tasks.push(next) - 1);
      this.#indexedLength = tasks.length;
    } else tasks[i] = next;
    this.#tracker.touch("tasks", itemKey(next), next, i < 0);
    this.#emit(before, next);
  }

  removeTask(tenant: Tenant, id: string): Task | undefined {
    const i = this.#position(tenant, id);
    if (i < 0) return undefined;
    const tasks = this.#low.data.tasks;
    const before = tasks[i] as Task;
    // A new array, not a splice: one being iterated (across an await) stays as it was.
    const rest = tasks.slice(0, i).concat(tasks.slice(i + 1));
    this.#low.data.tasks = rest;
    // The index goes on with the new array: the tasks after `i` moved one place left.
    this.#indexed = rest;
    if (this.#indexedLength > i) this.#indexedLength--;
    this.#index.delete(tenant, id);
    this.#shifts++;
    this.#tracker.touch("tasks", itemKey(before), undefined, false);
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
    if (
      this.#indexed !== tasks ||
      this.#indexedLength > tasks.length ||
      this.#shifts > MAX_SHIFTS
    ) {
      this.#reindex(tasks);
    }
    // Appends: index them as they come.
    for (let i = this.#indexedLength; i < tasks.length; i++) {
      const t = tasks[i] as Task;
      // The first, as find() would.
      if (this.#index.get(t.guildId, t.id) === undefined) this.#index.set(t.guildId, t.id, i);
    }
    this.#indexedLength = tasks.length;
    const i = this.#index.get(tenant, id);
    if (i !== undefined) {
      // Removals since it was indexed moved it left, one place each at most.
      const last = Math.max(0, i - this.#shifts);
      for (let j = Math.min(i, tasks.length - 1); j >= last; j--) {
        const at = tasks[j] as Task;
        if (at.id === id && at.guildId === tenant) {
          if (j !== i) this.#index.set(tenant, id, j);
          return j;
        }
      }
    } else if (!this.#tasksOpen) {
      // Every task is indexed: since the last full check, tasks were added and removed only
      // through putTask and removeTask, which keep the index.
      return -1;
    }
    // A list changed in place by a caller since the last write: a miss, or an entry made stale.
    // A scan decides, and a stale index is rebuilt.
    const found = tasks.findIndex((t) => t.id === id && t.guildId === tenant);
    if (found >= 0) this.#reindex(tasks);
    return found;
  }

  #reindex(tasks: Task[]): void {
    this.#index.clear();
    this.#indexed = tasks;
    this.#indexedLength = 0;
    this.#shifts = 0;
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
      this.#flushing ??= this.#flush();
    });
  }

  updateSoon<T>(fn: (db: Db) => T): { result: T; written: Promise<void> } {
    const result = fn(this.data);
    // The changes waiting for the same write share its promise: a promise per change (one per
    // run) would live until the write, by the thousand.
    let written = this.#deferredWritten;
    if (!written) {
      written = new Promise<void>((resolve, reject) => {
        this.#deferred.push({ resolve, reject });
      });
      this.#deferredWritten = written;
    }
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
    this.#waiting.push(...this.#takeDeferred());
    this.#flushing ??= this.#flush();
  }

  /** The deferred changes' waiters, now in a write's hands: later changes wait for another. */
  #takeDeferred(): Waiter[] {
    const taken = this.#deferred;
    this.#deferred = [];
    this.#deferredWritten = null;
    return taken;
  }

  async #flush(): Promise<void> {
    while (this.#waiting.length) {
      // Every change applied so far is in memory, so this write carries the deferred ones too.
      const batch = this.#waiting.concat(this.#takeDeferred());
      this.#waiting = [];
      if (this.#deferTimer) clearTimeout(this.#deferTimer);
      this.#deferTimer = null;
      try {
        await this.#low.write();
        for (const w of batch) w.resolve();
      } catch (cause) {
        // Memory must not claim what the disk lacks: every change not yet written is dropped,
        // its caller told, and the state reloaded from the last good file.
        const failed = [...batch, ...this.#waiting, ...this.#takeDeferred()];
        this.#waiting = [];
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
    if (this.#disk.journal.size) await this.#compact(this.#low.data, true).catch(() => {});
    await this.releaseLock();
  }
}
