import { randomBytes } from "node:crypto";
import { link, open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { StoreLockedError } from "../shared/errors.ts";

// One process per DATA_DIR: two schedulers on one store would run every task twice and lose
// each other's writes. The lock file names its holder ("<pid> <bot|cli>") from the instant it
// exists: it is written in full under a unique name, then linked into place, which fails if a
// lock is there. A lock whose pid is gone (left by kill -9) is stale; breaking it is done under
// a second lock, so two openers that both saw it stale cannot remove a live one.

export type LockHolder = "bot" | "cli";

export interface DirLock {
  release(): Promise<void>;
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function readHolder(file: string): Promise<{ pid: number; holder: LockHolder } | null> {
  const text = await readFile(file, "utf8").catch(() => null);
  if (text === null) return null;
  const [pid, holder] = text.trim().split(/\s+/);
  return { pid: Number(pid), holder: holder === "cli" ? "cli" : "bot" };
}

/** Links a file holding `content` to `file`: true if it is ours, false if one is there. */
async function place(file: string, content: string): Promise<boolean> {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
  const handle = await open(temp, "wx", 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  } finally {
    await rm(temp, { force: true });
  }
}

/** Removes the lock if it still names the dead `pid`; under the breaker lock. */
async function breakStale(file: string, pid: number): Promise<void> {
  const breaker = `${file}.break`;
  if (!(await place(breaker, `${process.pid}\n`))) {
    // Another opener is breaking it, for a moment; unless it died doing so.
    const other = await readHolder(breaker);
    if (other && !isAlive(other.pid)) await rm(breaker, { force: true });
    return;
  }
  try {
    const now = await readHolder(file);
    if (now && now.pid === pid) await rm(file, { force: true });
  } finally {
    await rm(breaker, { force: true });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Takes DATA_DIR's lock for this process. A lock held by a CLI command is waited for, up to
 * `waitMs` (a command takes a moment); one held by the bot is refused at once, naming it.
 */
export async function lockDataDir(
  dataDir: string,
  {
    holder = "bot",
    waitMs = 5_000,
    name = "mission-control",
  }: {
    holder?: LockHolder;
    waitMs?: number;
    /** Shards on PostgreSQL share a data folder, each holding a lock of its own. */
    name?: string;
  } = {},
): Promise<DirLock> {
  const file = join(dataDir, `${name}.lock`);
  const until = performance.now() + waitMs;
  for (let round = 0; ; round++) {
    if (await place(file, `${process.pid} ${holder}\n`)) {
      return {
        async release() {
          const now = await readHolder(file);
          if (now?.pid === process.pid) await rm(file, { force: true });
        },
      };
    }
    const now = await readHolder(file);
    if (!now) continue; // released between our link and our read
    if (!isAlive(now.pid)) {
      await breakStale(file, now.pid);
      continue;
    }
    if (now.holder === "bot" || performance.now() >= until) {
      throw new StoreLockedError(now.pid, dataDir, now.holder);
    }
    await sleep(Math.min(200, 20 * (round + 1)));
  }
}
