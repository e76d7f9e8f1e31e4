import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CorruptStoreError, NewerSchemaError, StoreLockedError } from "../src/shared/errors.ts";
import { StoreWriteError } from "../src/store/low-store.ts";
import { openStore, SCHEMA_VERSION } from "../src/store/store.ts";
import {
  diskProbe,
  goal,
  nextGoalId,
  setNextGoalId,
  storeSandbox,
} from "./support/store-sandbox.ts";

const sandbox = storeSandbox();
const { onDisk, track } = sandbox;
const db = sandbox.dbFile;

describe("store", () => {
  it("creates db.json on a fresh data dir and keeps changes across a reopen", async () => {
    const store = await openStore({ dataDir: sandbox.path });
    expect(store.data).toMatchObject({ schemaVersion: SCHEMA_VERSION, tasks: [], goals: [] });
    await store.update((d) => d.goals.push(goal(1)));
    await store.close();
    const again = track(await openStore({ dataDir: sandbox.path }));
    expect(again.data.goals).toEqual([goal(1)]);
  });

  it("loses none of 1,000 concurrent mutations, and shares writes between them", async () => {
    const disk = diskProbe();
    const counted = track(await openStore({ dataDir: sandbox.path, fs: disk.fs }));
    await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        counted.update((d) => {
          d.goals.push(goal(i + 1));
          setNextGoalId(d, nextGoalId(d) + 1);
        }),
      ),
    );
    expect(counted.data.goals).toHaveLength(1000);
    const stored = await onDisk();
    expect(stored.goals).toHaveLength(1000);
    expect(new Set(stored.goals.map((g: { id: number }) => g.id)).size).toBe(1000);
    expect(nextGoalId(stored)).toBe(1001);
    expect(disk.writes).toBeGreaterThan(0);
    expect(disk.writes).toBeLessThan(1000);
  });

  it("a mutation that throws changes nothing and rejects its caller only", async () => {
    const store = track(await openStore({ dataDir: sandbox.path }));
    const ok = store.update((d) => d.goals.push(goal(1)));
    const bad = store.update(() => {
      throw new Error("refused");
    });
    await expect(bad).rejects.toThrow("refused");
    await ok;
    expect((await onDisk()).goals).toHaveLength(1);
  });

  it.each([
    ["empty", "", /the file is empty/],
    ["truncated", '{"schemaVersion": 1, "tasks": [', /not valid JSON/],
    [
      "the wrong shape",
      JSON.stringify({ schemaVersion: 1, tasks: [{ id: "Bad Id!" }] }),
      /expected shape \(tasks\.0/,
    ],
    ["without a version", JSON.stringify({ tasks: [] }), /no valid schemaVersion/],
  ])(
    "refuses a db.json that is %s,, names the newest backup, and leaves the file untouched",
    async (_, text, reason) => {
      const first = await openStore({ dataDir: sandbox.path });
      await first.update((d) => d.goals.push(goal(1)));
      await first.close();
      await openStore({ dataDir: sandbox.path }).then((s) => s.close()); // a good start makes a backup
      await writeFile(db(), text);
      const err = await openStore({ dataDir: sandbox.path }).catch((e) => e);
      expect(err).toBeInstanceOf(CorruptStoreError);
      expect(err.message).toMatch(reason);
      expect(err.message).toContain("db.json");
      const backups = (await readdir(join(sandbox.path, "backups"))).sort();
      expect(err.message).toContain(backups.at(-1));
      expect(await readFile(db(), "utf8")).toBe(text);
      // The refused start released the lock: a fixed file opens.
      await writeFile(
        db(),
        await readFile(join(sandbox.path, "backups", backups.at(-1) as string)),
      );
      const fixed = track(await openStore({ dataDir: sandbox.path }));
      expect(fixed.data.goals).toEqual([goal(1)]);
    },
  );

  it("refuses a db.json from a newer version of Mission Control", async () => {
    await writeFile(db(), JSON.stringify({ schemaVersion: 7, tasks: [] }));
    await expect(openStore({ dataDir: sandbox.path })).rejects.toThrow(NewerSchemaError);
    await expect(openStore({ dataDir: sandbox.path })).rejects.toThrow(
      /schemaVersion 7, newer than .* \(2\)/,
    );
  });

  it("migrates an older db.json after backing it up", async () => {
    const v1 = JSON.stringify({ schemaVersion: 1, goals: [goal(1)], nextGoalId: 2 });
    await writeFile(db(), v1);
    // A code version 2 whose one migration marks every goal done.
    const migrations = [
      (old: Record<string, unknown>) => ({
        ...old,
        goals: (old.goals as ReturnType<typeof goal>[]).map((g) => ({ ...g, doneAt: g.createdAt })),
      }),
    ];
    const store = track(await openStore({ dataDir: sandbox.path, migrations }));
    expect(store.data.schemaVersion).toBe(2);
    expect(store.data.goals[0]?.doneAt).toBe(goal(1).createdAt);
    expect(await onDisk()).toMatchObject({
      schemaVersion: 2,
      goals: [{ doneAt: goal(1).createdAt }],
    });
    const backups = await readdir(join(sandbox.path, "backups"));
    expect(backups).toHaveLength(1);
    expect(backups[0]).toMatch(/-v1\.json$/);
    expect(await readFile(join(sandbox.path, "backups", backups[0] as string), "utf8")).toBe(v1);
    await store.close();
    // The version-1 code now meets a version-2 file and refuses it rather than guess.
    await expect(openStore({ dataDir: sandbox.path, migrations: [] })).rejects.toThrow(
      NewerSchemaError,
    );
  });

  it("backs up db.json as each start read it: the file itself, or with its journal applied", async () => {
    const newest = async () => {
      const names = (await readdir(join(sandbox.path, "backups"))).sort();
      return readFile(join(sandbox.path, "backups", names.at(-1) as string), "utf8");
    };
    const first = await openStore({ dataDir: sandbox.path });
    await first.update((d) => d.goals.push(goal(1)));
    await first.close();
    const closed = await readFile(db(), "utf8");
    const second = await openStore({ dataDir: sandbox.path }); // copies db.json
    expect(await newest()).toBe(closed);
    await second.update((d) => d.goals.push(goal(2)));
    // Not closed: the next start reads db.json with a journal line.
    const third = track(await openStore({ dataDir: sandbox.path }));
    expect(JSON.parse(await newest()).goals).toEqual([goal(1), goal(2)]);
    expect(third.data.goals).toEqual([goal(1), goal(2)]);
  });

  it("lets one process at a time hold a data dir, and takes over a stale lock", async () => {
    const first = track(await openStore({ dataDir: sandbox.path }));
    // Same pid as ours counts as stale, so fake a live owner: the parent process.
    await writeFile(join(sandbox.path, "mission-control.lock"), `${process.ppid}\n`);
    const err = await openStore({ dataDir: sandbox.path }).catch((e) => e);
    expect(err).toBeInstanceOf(StoreLockedError);
    expect(err.message).toMatch(new RegExp(`already running \\(pid ${process.ppid}\\)`));
    await first.close();
    await writeFile(join(sandbox.path, "mission-control.lock"), "999999999\n"); // no such process
    track(await openStore({ dataDir: sandbox.path }));
    expect((await readFile(join(sandbox.path, "mission-control.lock"), "utf8")).trim()).toBe(
      `${process.pid} bot`,
    );
  });

  it("reports a failed write to its caller and keeps the last good file and state", async () => {
    const disk = diskProbe();
    const fs = disk.fs;
    const store = track(await openStore({ dataDir: sandbox.path, fs }));
    await store.update((d) => d.goals.push(goal(1)));
    disk.failing = true;
    const err = await store.update((d) => d.goals.push(goal(2))).catch((e) => e);
    expect(err).toBeInstanceOf(StoreWriteError);
    expect(err.message).toMatch(/ENOSPC/);
    expect((await onDisk()).goals).toEqual([goal(1)]);
    expect(store.data.goals).toEqual([goal(1)]);
    expect((await readdir(sandbox.path)).filter((n) => n.endsWith(".tmp"))).toEqual([]);
    disk.failing = false;
    await store.update((d) => d.goals.push(goal(3)));
    expect((await onDisk()).goals.map((g: { id: number }) => g.id)).toEqual([1, 3]);
  });
});
