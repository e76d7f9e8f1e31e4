import * as nodeFs from "node:fs/promises";
import { chmod, readdir } from "node:fs/promises";
import { join } from "node:path";
import { CorruptStoreError, NewerSchemaError, StartupError } from "../shared/errors.ts";
import type { Task } from "../tasks/model.ts";
import { LOCAL, type Tenant } from "../tasks/tenant.ts";
import { type Db, DbSchema } from "./db-schema.ts";
import {
  type Files,
  files,
  newBase,
  readDisk,
  replayJournal,
  serialize,
  shown,
  writeSnapshot,
} from "./disk.ts";
import type { StoreFs } from "./durable-file.ts";
import { JournalCorruptError } from "./journal-file.ts";
import { type LockHolder, lockDataDir } from "./lock.ts";
import { LowStore } from "./low-store.ts";

/** MIGRATIONS[i] turns a version i+1 file into version i+2. The code's version is length + 1. */
export type Migration = (
  old: Record<string, unknown>,
  ctx: { legacyTenant: Tenant },
) => Record<string, unknown>;

export const MIGRATIONS: Migration[] = [
  // 1 → 2, servers as tenants: every record goes to the tenant the data dir served (the
  // DISCORD_GUILD_ID server, else local), which keeps its goal and reminder numbers. Going to
  // local, its tasks are marked to move to their channel's server once the bot can tell which
  // (rehome, in the Discord layer).
  (old, { legacyTenant }) => {
    const { nextGoalId, nextReminderId, ...rest } = old;
    const owned = (list: unknown) =>
      (Array.isArray(list) ? list : []).map((item) => ({ guildId: legacyTenant, ...item }));
    return {
      ...rest,
      tasks: owned(old.tasks),
      goals: owned(old.goals),
      reminders: owned(old.reminders),
      servers: [{ id: legacyTenant, nextGoalId, nextReminderId, rehome: legacyTenant === LOCAL }],
    };
  },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length + 1;

const KEEP_BACKUPS = 10;

export interface Store {
  /**
   * The current state. Read freely; change it only inside `update`, and by replacing items, not
   * editing them: items already written are frozen (the journal records replaced items).
   * A list taken from here (or from the `db` an update gets) may be changed in place: the next
   * write checks that list item by item. So take it afresh for each change: a list kept from
   * before a write and changed after it is not checked again. Tasks changed only through
   * `putTask` and `removeTask` cost a write only the tasks they touched.
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
  task(tenant: Tenant, id: string): Task | undefined;
  /** A tenant's tasks, in the order they were added. */
  tasksOf(tenant: Tenant): Task[];
  /**
   * Inside `update` or `updateSoon`: adds `next`, or puts it in place of the task with its id.
   * Tasks change only through this and `removeTask`, so every change reaches `onTaskChange`.
   */
  putTask(next: Task): void;
  /** Inside `update`: removes the tenant's task with this id; the task removed, if any. */
  removeTask(tenant: Tenant, id: string): Task | undefined;
  /**
   * Calls `listener` after each task change, as it is made in memory (before it is durable):
   * `before` undefined for an added task, `after` undefined for a removed one. A write that
   * fails puts memory back to the last good file, and each task that changed back is reported
   * too. Returns a function that stops the calls.
   */
  onTaskChange(listener: TaskListener): () => void;
  /**
   * Whether this process may schedule now, told of each change (PostgreSQL: while it holds the
   * database's scheduling lock). Absent: always (the file store's data dir lock is for life).
   */
  onSchedulingChange?(listener: (allowed: boolean) => void): () => void;
  /** Writes pending changes, folds the journal into db.json and releases the data dir. */
  close(): Promise<void>;
}

export type TaskListener = (before: Task | undefined, after: Task | undefined) => void;

/** The journal is folded into db.json once it is bigger than both this and db.json. */
export const COMPACT_AT_BYTES = 1 << 20;

export interface OpenStoreOptions {
  dataDir: string;
  fs?: StoreFs;
  migrations?: Migration[];
  /** Whose records those of an older file are (DISCORD_GUILD_ID's server, else local). */
  legacyTenant?: Tenant;
  /** Who takes the data dir's lock: the bot, or a CLI command (which others wait for). */
  lockHolder?: LockHolder;
  now?: () => number;
  /** COMPACT_AT_BYTES unless a test wants db.json rewritten often. */
  compactAt?: number;
}

export async function openStore({
  dataDir,
  fs = nodeFs,
  migrations = MIGRATIONS,
  legacyTenant = LOCAL,
  lockHolder = "bot",
  now = Date.now,
  compactAt = COMPACT_AT_BYTES,
}: OpenStoreOptions): Promise<Store> {
  try {
    await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
    await ownerOnly(dataDir);
  } catch (err) {
    throw new StartupError(`DATA_DIR ${dataDir} cannot be created: ${(err as Error).message}`);
  }
  const lock = await lockDataDir(dataDir, { holder: lockHolder }).catch((err) => {
    if (err instanceof StartupError) throw err;
    throw new StartupError(`DATA_DIR ${dataDir} is not writable: ${(err as Error).message}`);
  });
  try {
    const disk = files(dataDir, fs);
    const { durable, journal } = disk;
    await durable.removeStaleTempFiles();
    const backups = join(dataDir, "backups");
    const { text, sealed } = await readDbFile(disk).catch((err) => {
      throw new CorruptStoreError(shown(durable.path), (err as Error).message, null);
    });
    const version = migrations.length + 1;
    let db: Db;
    let seq = 0;
    let base = newBase();
    let backedUp: Promise<void> = Promise.resolve();
    if (text === null) {
      // Changes without the db.json they were made on: refused, never emptied.
      const orphan = await journal.read(0).catch((err) => {
        if (err instanceof JournalCorruptError) return { lines: [err] };
        throw err;
      });
      if (orphan.lines.length) {
        throw new CorruptStoreError(
          shown(durable.path),
          `it is missing, but ${shown(journal.path)} holds changes made on it`,
          await newestBackup(fs, join(dataDir, "backups")),
        );
      }
      db = DbSchema.parse({ schemaVersion: version });
      await writeSnapshot(disk, serialize(db, seq, base), true);
      await journal.clear();
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
      // The backup holds the file as it was read, journal included, before any migration.
      const readText = replayed.bytes ? serialize(raw as Db, seq, base) : text;
      for (let v = found; v < version; v++) {
        raw = { ...(migrations[v - 1] as Migration)(raw, { legacyTenant }), schemaVersion: v + 1 };
      }
      // Unchanged since this program wrote it from its checked state: no need to check again.
      const unchanged = found === version && !replayed.bytes && sealed;
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
      await fs.mkdir(backups, { recursive: true, mode: 0o700 });
      // Start from an empty journal: no line ever follows a torn one. A file without a base
      // (from before bases) gets one, so the lines written on it can be told apart.
      const rewrite = found < version || replayed.bytes || replayed.base === undefined;
      // Else the backup is db.json as it is, which the file system copies while the state is
      // indexed (below).
      backedUp = backup(fs, rewrite ? { text: readText } : { copyOf: durable.path }, backups, {
        version: found,
        at: now(),
      });
      backedUp.catch(() => {}); // awaited below
      if (rewrite) {
        await backedUp;
        await writeSnapshot(disk, serialize(db, seq, base), true);
        await journal.clear();
      } else {
        base = replayed.base as string; // not a rewrite: it has one
      }
    }
    const snapshot = { seq, base, bytes: text?.length ?? 0 };
    const store = new LowStore(disk, db, snapshot, text === null, compactAt, lock.release);
    await backedUp;
    return store;
  } catch (err) {
    await lock.release();
    throw err;
  }
}

/**
 * db.json's text (null: there is none), and whether db.json.checked vouches for it: checked on
 * its bytes while they are at hand, as the text would have to be encoded again.
 */
async function readDbFile({ durable, seal }: Files) {
  const saved = await seal.saved();
  const bytes = await durable.readBytes();
  if (bytes === null) return { text: null, sealed: false };
  return { text: bytes.toString("utf8"), sealed: seal.vouches(saved, bytes) };
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

/**
 * DATA_DIR and what earlier versions made in it with the umask's modes (0755, 0644) become the
 * owner's only; what Mission Control makes now is created 0700 / 0600.
 */
async function ownerOnly(dataDir: string): Promise<void> {
  // A folder before what is in it (its own mode may be what lets us in); side by side, all at
  // once: a start waits for the slowest, not for the sum (a day file each in the log folders).
  const mode = (path: string, m: number) => chmod(path, m).catch(() => {});
  const each = <T>(items: T[], fn: (item: T) => Promise<void>) => Promise.all(items.map(fn));
  await mode(dataDir, 0o700);
  await each(["logs", "outputs", "briefings", "backups"], (dir) => mode(join(dataDir, dir), 0o700));
  await Promise.all([
    each(["logs/executions.jsonl", "logs/deliveries.jsonl"], (file) =>
      mode(join(dataDir, file), 0o600),
    ),
    each(["logs/executions", "logs/deliveries"], async (dir) => {
      const path = join(dataDir, dir);
      await mode(path, 0o700);
      const names = await readdir(path).catch(() => [] as string[]);
      await each(names, (name) => mode(join(path, name), 0o600));
    }),
  ]);
}

/**
 * Writes `text`, or copies the file `copyOf`: one call, which goes on while this thread is busy
 * (writeFile needs it between chunks).
 */
async function backup(
  fs: StoreFs,
  from: { text: string } | { copyOf: string },
  dir: string,
  { version, at }: { version: number; at: number },
) {
  const stamp = new Date(at).toISOString().replace(/[:.]/g, "-");
  const file = join(dir, `db-${stamp}-v${version}.json`);
  if ("copyOf" in from) await fs.copyFile(from.copyOf, file);
  else await fs.writeFile(file, from.text, { mode: 0o600 });
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
