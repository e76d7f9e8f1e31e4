import * as nodeFs from "node:fs/promises";
import { join, relative } from "node:path";
import { Low } from "lowdb";
import {
  CorruptStoreError,
  MissionControlError,
  NewerSchemaError,
  StartupError,
} from "../errors.ts";
import { type Db, DbSchema } from "./db-schema.ts";
import { DurableFile, type StoreFs } from "./durable-file.ts";
import { lockDataDir } from "./lock.ts";

/** MIGRATIONS[i] turns a version i+1 file into version i+2. The code's version is length + 1. */
export type Migration = (old: Record<string, unknown>) => Record<string, unknown>;
export const MIGRATIONS: Migration[] = [];

const KEEP_BACKUPS = 10;

export interface Store {
  /** The current state. Read freely; change it only inside `update`. */
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
  close(): Promise<void>;
}

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

export interface OpenStoreOptions {
  dataDir: string;
  fs?: StoreFs;
  migrations?: Migration[];
  now?: () => number;
}

export async function openStore({
  dataDir,
  fs = nodeFs,
  migrations = MIGRATIONS,
  now = Date.now,
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
    const file = join(dataDir, "db.json");
    const durable = new DurableFile(file, fs);
    await durable.removeStaleTempFiles();
    const backups = join(dataDir, "backups");
    const text = await durable.read().catch((err) => {
      throw new CorruptStoreError(shown(file), (err as Error).message, null);
    });
    const version = migrations.length + 1;
    let db: Db;
    if (text === null) {
      db = DbSchema.parse({ schemaVersion: version });
      await durable.write(serialize(db));
    } else {
      const corrupt = async (reason: string) =>
        new CorruptStoreError(shown(file), reason, await newestBackup(fs, backups));
      if (!text.trim()) throw await corrupt("the file is empty");
      let raw: Record<string, unknown>;
      try {
        raw = JSON.parse(text);
      } catch (err) {
        throw await corrupt(`it is not valid JSON (${(err as Error).message})`);
      }
      const found = raw?.schemaVersion;
      if (typeof found !== "number" || !Number.isInteger(found) || found < 1) {
        throw await corrupt("it has no valid schemaVersion");
      }
      if (found > version) throw new NewerSchemaError(shown(file), found, version);
      for (let v = found; v < version; v++) {
        raw = { ...(migrations[v - 1] as Migration)(raw), schemaVersion: v + 1 };
      }
      const parsed = DbSchema.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw await corrupt(
          `it does not have the expected shape (${issue?.path.join(".")}: ${issue?.message})`,
        );
      }
      db = parsed.data;
      // Only a file that read cleanly becomes a backup, so the newest backup is always good.
      await backup(fs, file, backups, found, now());
      if (found < version) await durable.write(serialize(db));
    }
    return new LowStore(file, durable, db, text === null, lock.release);
  } catch (err) {
    await lock.release();
    throw err;
  }
}

function serialize(db: Db): string {
  return `${JSON.stringify(db, null, 2)}\n`;
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
  #waiting: Waiter[] = [];
  #flushing: Promise<void> | null = null;

  constructor(
    readonly file: string,
    durable: DurableFile,
    initial: Db,
    readonly created: boolean,
    private readonly releaseLock: () => Promise<void>,
  ) {
    this.#low = new Low<Db>(
      {
        // Only used to fall back to the file after a failed write: it is the last good state.
        read: async () => {
          const text = await durable.read();
          return text ? DbSchema.parse(JSON.parse(text)) : null;
        },
        write: (db) => durable.write(serialize(db)),
      },
      initial,
    );
  }

  get data(): Db {
    return this.#low.data;
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

  async #flush(): Promise<void> {
    while (this.#waiting.length) {
      const batch = this.#waiting;
      this.#waiting = [];
      try {
        await this.#low.write();
        for (const w of batch) w.resolve();
      } catch (cause) {
        // Memory must not claim what the disk lacks: every change not yet written is dropped,
        // its caller told, and the state reloaded from the last good file.
        const failed = [...batch, ...this.#waiting];
        this.#waiting = [];
        await this.#low.read().catch(() => {});
        for (const w of failed) w.reject(new StoreWriteError(shown(this.file), cause));
      }
    }
    this.#flushing = null;
  }

  async close(): Promise<void> {
    await this.#flushing;
    await this.releaseLock();
  }
}
