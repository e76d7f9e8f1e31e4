import * as nodeFs from "node:fs/promises";
import { join, relative } from "node:path";
import { Low } from "lowdb";
import {
  CorruptStoreError,
  MissionControlError,
  NewerSchemaError,
  StartupError,
} from "../shared/errors.ts";
import type { Task } from "../tasks/model.ts";
import { applyChanges, ChangeTracker } from "./changes.ts";
import { type Db, DbSchema } from "./db-schema.ts";
import { DurableFile, type StoreFs } from "./durable-file.ts";
import { JournalCorruptError, JournalFile } from "./journal-file.ts";
import { lockDataDir } from "./lock.ts";
import { Seal } from "./seal.ts";

/** MIGRATIONS[i] turns a version i+1 file into version i+2. The code's version is length + 1. */
export type Migration = (old: Record<string, unknown>) => Record<string, unknown>;
export const MIGRATIONS: Migration[] = [];

const KEEP_BACKUPS = 10;

export interface Store {
  /**
   * The current state. Read freely; change it only inside `update`, and by replacing items, not
   * editing them: items already written are frozen (the journal records replaced items).
   */
  readonly data: Db;
  readonly file: string;
  /** True when this open created db.json: a fresh data dir. */
  readonly created: boolean;
  /**
   * Applies `fn` now, in call order, and resolves once the change is durable on disk. Changes
   * that arrive while a write is in flight share the next write. `fn` must check its input
   * before it mutates anything: a throw rejects this call and changes nothing.
   */
  update<T>(fn: (db: Db) => T): Promise<T>;
  /**
   * Like `update`, `fn` applies now; but its write may wait up to `DEFER_MS`, so the changes of
   * many callers (history counters after each run) share one write: at most one such write per
   * DEFER_MS, and at once after a quiet spell. An `update` or `close` in the meantime writes
   * them too. For data also recorded elsewhere (every run is in the
   * execution log): `written` settles when the change is durable, or rejects when the write
   * failed (then, as with `update`, memory falls back to the last good file).
   */
  updateSoon<T>(fn: (db: Db) => T): { result: T; written: Promise<void> };
  /**
   * The task with this id, by index rather than a scan of `data.tasks` (which changes only by
   * appending in place, or by being replaced).
   */
  task(id: string): Task | undefined;
  /**
   * Inside `update` or `updateSoon`: adds `next`, or puts it in place of the task with its id.
   * Tasks change only through this and `removeTask`, so every change reaches `onTaskChange`.
   */
  putTask(next: Task): void;
  /** Inside `update`: removes the task with this id; the task removed, if there was one. */
  removeTask(id: string): Task | undefined;
  /**
   * Calls `listener` after each task change, as it is made in memory (before it is durable):
   * `before` undefined for an added task, `after` undefined for a removed one. A write that
   * fails puts memory back to the last good file, and each task that changed back is reported
   * too. Returns a function that stops the calls.
   */
  onTaskChange(listener: TaskListener): () => void;
  /** Writes pending changes, folds the journal into db.json and releases the data dir. */
  close(): Promise<void>;
}

export type TaskListener = (before: Task | undefined, after: Task | undefined) => void;

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

/** The journal is folded into db.json once it is bigger than both this and db.json. */
export const COMPACT_AT_BYTES = 1 << 20;

export interface OpenStoreOptions {
  dataDir: string;
  fs?: StoreFs;
  migrations?: Migration[];
  now?: () => number;
  /** COMPACT_AT_BYTES unless a test wants db.json rewritten often. */
  compactAt?: number;
}

export async function openStore({
  dataDir,
  fs = nodeFs,
  migrations = MIGRATIONS,
  now = Date.now,
  compactAt = COMPACT_AT_BYTES,
}: OpenStoreOptions): Promise<Store> {
  try {
    await fs.mkdir(dataDir, { recursive: true });
  } catch (err) {
    throw new StartupError(`DATA_DIR ${dataDir} cannot be created: ${(err as Error).message}`);
  }
  const lock = await lockDataDir(dataDir).catch((err) => {
    if (err instanceof StartupError) throw err;
    throw new StartupError(`DATA_DIR ${dataDir} is not writable: ${(err as Error).message}`);
  });
  try {
    const disk = files(dataDir, fs);
    const { durable, journal } = disk;
    await durable.removeStaleTempFiles();
    const backups = join(dataDir, "backups");
    const text = await durable.read().catch((err) => {
      throw new CorruptStoreError(shown(durable.path), (err as Error).message, null);
    });
    const version = migrations.length + 1;
    let db: Db;
    let seq = 0;
    if (text === null) {
      db = DbSchema.parse({ schemaVersion: version });
      await writeSnapshot(disk, serialize(db, seq));
      await journal.clear(); // a journal without its db.json describes nothing we have
    } else {
      const corrupt = async (file: string, reason: string) =>
        new CorruptStoreError(shown(file), reason, await newestBackup(fs, backups));
      if (!text.trim()) throw await corrupt(durable.path, "the file is empty");
      let raw: Record<string, unknown>;
      try {
        raw = JSON.parse(text);
      } catch (err) {
        throw await corrupt(durable.path, `it is not valid JSON (${(err as Error).message})`);
      }
      const found = raw?.schemaVersion;
      if (typeof found !== "number" || !Number.isInteger(found) || found < 1) {
        throw await corrupt(durable.path, "it has no valid schemaVersion");
      }
      if (found > version) throw new NewerSchemaError(shown(durable.path), found, version);
      const replayed = await replayJournal(raw, journal).catch(async (err) => {
        if (err instanceof JournalCorruptError) throw await corrupt(journal.path, err.message);
        throw err;
      });
      seq = replayed.seq;
      for (let v = found; v < version; v++) {
        raw = { ...(migrations[v - 1] as Migration)(raw), schemaVersion: v + 1 };
      }
      // Unchanged since this program wrote it from its checked state: no need to check again.
      const unchanged = found === version && !replayed.bytes && (await disk.seal.matches(text));
      const parsed = unchanged
        ? { success: true as const, data: raw as Db }
        : DbSchema.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const file = replayed.bytes ? `${durable.path} with ${journal.path}` : durable.path;
        throw await corrupt(
          file,
          `it does not have the expected shape (${issue?.path.join(".")}: ${issue?.message})`,
        );
      }
      db = parsed.data;
      // Only a file that read cleanly becomes a backup, so the newest backup is always good.
      await backup(fs, durable.path, backups, found, now());
      // Start from an empty journal: no line ever follows a torn one.
      if (found < version || replayed.bytes) {
        await writeSnapshot(disk, serialize(db, seq));
        await journal.clear();
      }
    }
    const snapshot = { seq, bytes: text?.length ?? 0 };
    return new LowStore(disk, db, snapshot, text === null, compactAt, lock.release);
  } catch (err) {
    await lock.release();
    throw err;
  }
}

/**
 * What is on disk in `dataDir` (db.json with its journal applied), parsed but not validated,
 * without taking the lock: for tests and tools that look at the files a store wrote.
 */
export async function readStored(dataDir: string, fs: StoreFs = nodeFs): Promise<Db> {
  const disk = files(dataDir, fs);
  const stored = await readDisk(disk);
  if (!stored) throw new Error(`no ${disk.durable.path}`);
  return stored.raw as Db;
}

/** db.json with its journal applied, parsed but not validated; null when there is no db.json. */
async function readDisk({ durable, journal }: Files) {
  const text = await durable.read();
  if (!text) return null;
  const raw = JSON.parse(text);
  return { raw, seq: (await replayJournal(raw, journal)).seq };
}

interface Files {
  durable: DurableFile;
  journal: JournalFile;
  seal: Seal;
}

function files(dataDir: string, fs: StoreFs): Files {
  const file = join(dataDir, "db.json");
  return {
    durable: new DurableFile(file, fs),
    journal: new JournalFile(join(dataDir, "db.journal"), fs),
    seal: new Seal(file, fs),
  };
}

async function writeSnapshot({ durable, seal }: Files, text: string): Promise<void> {
  await durable.write(text);
  await seal.record(text);
}

/** Applies the journal's lines newer than the snapshot to `raw`; the last seq applied. */
async function replayJournal(raw: Record<string, unknown>, journal: JournalFile) {
  const after = typeof raw.journalSeq === "number" ? raw.journalSeq : 0;
  delete raw.journalSeq;
  const { lines, bytes } = await journal.read(after);
  for (const line of lines) applyChanges(raw, line.changes);
  return { seq: lines.at(-1)?.seq ?? after, bytes };
}

// Compact, not pretty-printed: at 10,000 tasks the indented form is 50% bigger and costs ~40%
// more to build and write, on every durable change. `jq . data/db.json` shows it indented.
// `journalSeq`: the last journal line this file already holds; replay starts after it.
function serialize(db: Db, journalSeq: number): string {
  return `${JSON.stringify({ ...db, journalSeq })}\n`;
}

function shown(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith("..") ? rel : file;
}

async function backup(fs: StoreFs, file: string, dir: string, version: number, at: number) {
  await fs.mkdir(dir, { recursive: true });
  const stamp = new Date(at).toISOString().replace(/[:.]/g, "-");
  await fs.copyFile(file, join(dir, `db-${stamp}-v${version}.json`));
  const names = (await fs.readdir(dir)).filter((n) => /^db-.*\.json$/.test(n)).sort();
  for (const old of names.slice(0, Math.max(0, names.length - KEEP_BACKUPS))) {
    await fs.rm(join(dir, old), { force: true });
  }
}

async function newestBackup(fs: StoreFs, dir: string): Promise<string | null> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const newest = names
    .filter((n) => /^db-.*\.json$/.test(n))
    .sort()
    .at(-1);
  return newest ? shown(join(dir, newest)) : null;
}

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

class LowStore implements Store {
  readonly #low: Low<Db>;
  readonly #disk: Files;
  readonly #tracker = new ChangeTracker();
  /** The last journal line written: in db.json or in the journal. */
  #seq: number;
  #snapshotBytes = 0;
  /** Set when a write failed and memory could not be reloaded: only a whole-file write is safe. */
  #mustCompact = false;
  #waiting: Waiter[] = [];
  #flushing: Promise<void> | null = null;
  /** Changes made with updateSoon that no write has started on yet. */
  #deferred: Waiter[] = [];
  #deferTimer: ReturnType<typeof setTimeout> | null = null;
  #lastDeferredWrite = Number.NEGATIVE_INFINITY;
  /** id -> position in data.tasks, for the array it was built from. */
  #index = new Map<string, number>();
  #indexed: Task[] | null = null;
  #indexedLength = 0;
  readonly #listeners = new Set<TaskListener>();

  constructor(
    disk: Files,
    initial: Db,
    snapshot: { seq: number; bytes: number },
    readonly created: boolean,
    private readonly compactAt: number,
    private readonly releaseLock: () => Promise<void>,
  ) {
    this.#disk = disk;
    this.#seq = snapshot.seq;
    this.#snapshotBytes = snapshot.bytes;
    this.#tracker.reset(initial);
    this.#low = new Low<Db>(
      {
        // Only used to fall back to the disk after a failed write: it is the last good state.
        read: async () => {
          const stored = await readDisk(disk);
          if (!stored) return null;
          this.#seq = stored.seq;
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
        await this.#disk.journal.append({ seq: this.#seq + 1, changes });
        this.#seq++;
      }
    } catch (err) {
      this.#mustCompact = true;
      throw err;
    }
  }

  async #compact(db: Db): Promise<void> {
    const text = serialize(db, this.#seq);
    await writeSnapshot(this.#disk, text);
    this.#snapshotBytes = text.length;
    this.#mustCompact = false;
    // db.json now holds every line; one left behind is skipped on replay (its seq is older),
    // and a journal whose tail is unknown keeps every write going to db.json until it clears.
    await this.#disk.journal.clear().catch(() => {});
  }

  task(id: string): Task | undefined {
    const i = this.#position(id);
    return i < 0 ? undefined : this.#low.data.tasks[i];
  }

  putTask(next: Task): void {
    const tasks = this.#low.data.tasks;
    const i = this.#position(next.id);
    const before = i < 0 ? undefined : tasks[i];
    if (i < 0) tasks.push(next);
    else tasks[i] = next;
    this.#emit(before, next);
  }

  removeTask(id: string): Task | undefined {
    const before = this.task(id);
    if (!before) return undefined;
    this.#low.data.tasks = this.#low.data.tasks.filter((t) => t.id !== id);
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
    const now = new Map(this.#low.data.tasks.map((t) => [t.id, t]));
    for (const old of previous) {
      if (now.get(old.id) !== old) this.#emit(old, now.get(old.id));
      now.delete(old.id);
    }
    for (const added of now.values()) this.#emit(undefined, added);
  }

  #position(id: string): number {
    const tasks = this.#low.data.tasks;
    if (this.#indexed !== tasks) this.#reindex(tasks);
    // Appends are the common change: index them as they come.
    for (let i = this.#indexedLength; i < tasks.length; i++) {
      const t = tasks[i] as Task;
      if (!this.#index.has(t.id)) this.#index.set(t.id, i); // the first, as find() would
    }
    this.#indexedLength = tasks.length;
    const i = this.#index.get(id);
    if (i !== undefined && tasks[i]?.id === id) return i;
    // A miss, or an entry made stale by a change in place: a scan decides, and a stale index is
    // rebuilt. Misses are rare (a duplicate check, an unknown id), so the scan costs little.
    const found = tasks.findIndex((t) => t.id === id);
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
    if (this.#disk.journal.size) await this.#compact(this.data).catch(() => {});
    await this.releaseLock();
  }
}
