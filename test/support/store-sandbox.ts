import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach } from "vitest";
import type { Store } from "../../src/store/store.ts";
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
    onDisk: async () => JSON.parse(await readFile(join(dir.path, "db.json"), "utf8")),
    track(s: Store): Store {
      open.push(s);
      return s;
    },
  };
}

export const goal = (id: number) => ({
  id,
  text: `goal ${id}`,
  createdAt: "2026-11-26T10:00:00.000Z",
  doneAt: null,
});
