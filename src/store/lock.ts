import { open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { StoreLockedError } from "../shared/errors.ts";

// One process per DATA_DIR: two schedulers on one store would run every task twice and lose
// each other's writes. The lock file holds the owner's pid; a lock whose pid is gone is stale
// (left by kill -9) and is taken over.

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface DirLock {
  release(): Promise<void>;
}

export async function lockDataDir(dataDir: string): Promise<DirLock> {
  const file = join(dataDir, "mission-control.lock");
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(file, "wx", 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.sync();
      await handle.close();
      return {
        async release() {
          const owner = await readFile(file, "utf8").catch(() => "");
          if (Number(owner.trim()) === process.pid) await rm(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const pid = Number((await readFile(file, "utf8").catch(() => "")).trim());
      if (isAlive(pid)) throw new StoreLockedError(pid, dataDir);
      await rm(file, { force: true });
    }
  }
  throw new StoreLockedError(0, dataDir);
}
