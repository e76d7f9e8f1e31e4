import * as nodeFs from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach } from "vitest";
import type { Db } from "../../src/store/db-schema.ts";
import type { StoreFs } from "../../src/store/durable-file.ts";
import { readStored, type Store } from "../../src/store/store.ts";
import { ServerSchema, type Task, TaskSchema } from "../../src/tasks/model.ts";
import { tempDir } from "./world.ts";

/**
 * A fresh temp data dir per test; stores handed to `track` are closed after it. Call at the top
 * of a test file.
 */
export function storeSandbox() {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let open: Store[] = [];
  beforeEach(async () => {
    dir = await tempDir();
    open = [];
  });
  afterEach(async () => {
    for (const s of open) await s.close().catch(() => {});
    await dir.remove();
  });
  return {
    get path() {
      return dir.path;
    },
    dbFile: () => join(dir.path, "db.json"),
    onDisk: async () => readStored(dir.path),
    track(s: Store): Store {
      open.push(s);
      return s;
    },
  };
}

/** The local tenant's goal counter, in the store's data or as read back from disk. */
export const nextGoalId = (d: { servers: { id: string; nextGoalId: number }[] }) =>
  d.servers.find((s) => s.id === "local")?.nextGoalId ?? 1;
export const setNextGoalId = (d: Db, n: number) => {
  d.servers = [ServerSchema.parse({ id: "local", nextGoalId: n })];
};

export const goal = (id: number) => ({
  guildId: "local",
  id,
  text: `goal ${id}`,
  createdAt: "2026-11-26T10:00:00.000Z",
  doneAt: null,
});

/**
 * A StoreFs that counts durable writes (an fsync of db.json's temp file or of db.journal) and,
 * while `failing` is set, fails them with ENOSPC as a full disk would.
 */
export function diskProbe() {
  const probe = { writes: 0, failing: false, fs: nodeFs as StoreFs };
  const enospc = () =>
    Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
  probe.fs = {
    ...nodeFs,
    open: (async (path: string, flags: string, mode?: number) => {
      const handle = await nodeFs.open(path, flags, mode);
      if (flags === "r") return handle; // the folder, for its fsync
      const failable =
        <A extends unknown[], R>(real: (...args: A) => Promise<R>) =>
        async (...args: A): Promise<R> => {
          if (probe.failing) throw enospc();
          return real.apply(handle, args);
        };
      // Only what the store calls on a handle; each call goes to the real one.
      return {
        write: failable(
          handle.write as (b: Buffer, offset: number) => Promise<{ bytesWritten: number }>,
        ),
        writeFile: failable(handle.writeFile),
        sync: failable(async () => {
          probe.writes++;
          await handle.sync();
        }),
        truncate: (len?: number) => handle.truncate(len),
        stat: () => handle.stat(),
        close: () => handle.close(),
      };
    }) as StoreFs["open"],
  };
  return probe;
}

/** A stored task with every default: `name` is its id unless given. */
export const task = (id: string, name = id, guildId = "local"): Task =>
  TaskSchema.parse({
    guildId,
    id,
    name,
    handler: "test",
    schedule: { type: "daily", time: "09:00" },
    timezone: "UTC",
    createdAt: "2026-11-26T10:00:00.000Z",
    updatedAt: "2026-11-26T10:00:00.000Z",
  });
