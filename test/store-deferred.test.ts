import * as nodeFs from "node:fs/promises";
import { describe, expect, it, vi } from "vitest";
import type { StoreFs } from "../src/store/durable-file.ts";
import { DEFER_MS, StoreWriteError } from "../src/store/low-store.ts";
import { openStore } from "../src/store/store.ts";
import { diskProbe, goal, storeSandbox, task } from "./support/store-sandbox.ts";

// updateSoon (history counters without a write per run) and task(id) (an index, not a scan).

const sandbox = storeSandbox();
const { onDisk, track } = sandbox;

describe("store.updateSoon", () => {
  it("applies at once, and is on disk soon after, many changes in few writes", async () => {
    const disk = diskProbe();
    const store = track(await openStore({ dataDir: sandbox.path, fs: disk.fs }));
    disk.writes = 0;
    const written: Promise<void>[] = [];
    for (let i = 1; i <= 500; i++) {
      const r = store.updateSoon((db) => {
        db.goals.push(goal(i));
        return i;
      });
      expect(r.result).toBe(i);
      written.push(r.written);
    }
    expect(store.data.goals).toHaveLength(500);
    await Promise.all(written);
    expect((await onDisk()).goals).toHaveLength(500);
    expect(disk.writes).toBeGreaterThan(0);
    expect(disk.writes).toBeLessThanOrEqual(2);
  });

  it("writes a later change within DEFER_MS, and an update or close carries pending ones", async () => {
    const store = await openStore({ dataDir: sandbox.path });
    await store.updateSoon((db) => db.goals.push(goal(1))).written; // the first goes out at once
    store.updateSoon((db) => db.goals.push(goal(2)));
    await vi.waitFor(async () => expect((await onDisk()).goals).toHaveLength(2), {
      timeout: DEFER_MS * 4,
    });
    store.updateSoon((db) => db.goals.push(goal(3)));
    await store.update((db) => db.goals.push(goal(4)));
    expect((await onDisk()).goals.map((g: { id: number }) => g.id)).toEqual([1, 2, 3, 4]);
    store.updateSoon((db) => db.goals.push(goal(5)));
    await store.close();
    expect((await onDisk()).goals).toHaveLength(5);
  });

  it("a failed write rejects `written` and falls back to the last good file", async () => {
    const disk = diskProbe();
    const store = track(await openStore({ dataDir: sandbox.path, fs: disk.fs }));
    await store.update((db) => db.goals.push(goal(1)));
    disk.failing = true;
    const { written } = store.updateSoon((db) => db.goals.push(goal(2)));
    await expect(written).rejects.toBeInstanceOf(StoreWriteError);
    expect(store.data.goals).toEqual([goal(1)]);
  });

  it("changes waiting together are told together; one made once their write began waits for the next", async () => {
    let hold = false;
    let began!: () => void;
    const writing = new Promise<void>((resolve) => {
      began = resolve;
    });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const fs: StoreFs = {
      ...nodeFs,
      open: (async (path: string, flags: string, mode?: number) => {
        if (hold && path.endsWith("db.journal")) {
          began();
          await held;
        }
        return nodeFs.open(path, flags, mode);
      }) as StoreFs["open"],
    };
    const store = track(await openStore({ dataDir: sandbox.path, fs }));
    hold = true;
    const first = store.updateSoon((db) => db.goals.push(goal(1))).written;
    const same = store.updateSoon((db) => db.goals.push(goal(2))).written;
    await writing; // goals 1 and 2 are on their way
    const later = store.updateSoon((db) => db.goals.push(goal(3))).written;
    let laterDone = false;
    void later.then(() => {
      laterDone = true;
    });
    release();
    await Promise.all([first, same]);
    expect((await onDisk()).goals.map((g: { id: number }) => g.id)).toEqual([1, 2]);
    expect(laterDone).toBe(false);
    await later;
    expect((await onDisk()).goals.map((g: { id: number }) => g.id)).toEqual([1, 2, 3]);
  });

  it("a failed write rejects `written` for every change it carried", async () => {
    const disk = diskProbe();
    const store = track(await openStore({ dataDir: sandbox.path, fs: disk.fs }));
    await store.update((db) => db.goals.push(goal(1)));
    disk.failing = true;
    const all = [2, 3, 4].map((i) => store.updateSoon((db) => db.goals.push(goal(i))).written);
    for (const written of all) await expect(written).rejects.toBeInstanceOf(StoreWriteError);
    expect(store.data.goals).toEqual([goal(1)]);
  });

  it("a change that throws throws to its caller and changes nothing", async () => {
    const store = track(await openStore({ dataDir: sandbox.path }));
    expect(() =>
      store.updateSoon(() => {
        throw new Error("refused");
      }),
    ).toThrow("refused");
    await store.close();
    expect((await onDisk()).goals).toEqual([]);
  });
});

describe("store.task", () => {
  it("finds what find() finds through adds, deletes, replacements and a reload", async () => {
    const store = track(await openStore({ dataDir: sandbox.path }));
    const same = (id: string) =>
      expect(store.task("local", id)).toBe(store.data.tasks.find((t) => t.id === id));
    await store.update((db) => db.tasks.push(task("a"), task("b"), task("c")));
    for (const id of ["a", "b", "c", "x"]) same(id);
    await store.update((db) => db.tasks.push(task("d")));
    same("d");
    await store.update((db) => {
      db.tasks = db.tasks.filter((t) => t.id !== "b");
    });
    for (const id of ["a", "b", "c", "d"]) same(id);
    await store.update((db) => {
      db.tasks.splice(0, 1, task("e")); // replaced in place, same length
    });
    for (const id of ["a", "c", "d", "e"]) same(id);
    await store.update((db) => {
      db.tasks.reverse();
    });
    for (const id of ["a", "c", "d", "e"]) same(id);
    await store.close();
    const again = track(await openStore({ dataDir: sandbox.path }));
    expect(again.task("local", "e")?.id).toBe("e");
    expect(again.task("local", "a")).toBeUndefined();
  });
});
