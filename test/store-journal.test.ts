import * as nodeFs from "node:fs/promises";
import { appendFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CorruptStoreError } from "../src/shared/errors.ts";
import { Seal } from "../src/store/seal.ts";
import { openStore, SCHEMA_VERSION } from "../src/store/store.ts";
import { goal, nextGoalId, setNextGoalId, storeSandbox } from "./support/store-sandbox.ts";

// db.journal: each durable change is one appended line; db.json is rewritten only when the
// journal outgrows it, on start and on close.

const sandbox = storeSandbox();
const { onDisk, track } = sandbox;
const journal = () => join(sandbox.path, "db.journal");
const text = (file: string) => readFile(file, "utf8").catch(() => "");
const done = (id: number) => ({ ...goal(id), doneAt: "2026-11-26T12:00:00.000Z" });

describe("store journal", () => {
  it("appends a change instead of rewriting db.json, and folds it in on close", async () => {
    const store = await openStore({ dataDir: sandbox.path });
    const before = await text(sandbox.dbFile());
    await store.update((d) => d.goals.push(goal(1)));
    await store.update((d) => {
      d.goals = d.goals.map((g) => (g.id === 1 ? done(1) : g));
    });
    expect(await text(sandbox.dbFile())).toBe(before);
    const lines = (await text(journal())).trim().split("\n");
    // Each line also names the db.json it was written on (`base`).
    expect(lines.map((l) => JSON.parse(l))).toMatchObject([
      { seq: 1, changes: [["put", "goals", goal(1)]] },
      { seq: 2, changes: [["put", "goals", done(1)]] },
    ]);
    expect((await onDisk()).goals).toEqual([done(1)]);
    await store.close();
    expect(JSON.parse(await text(sandbox.dbFile())).goals).toEqual([done(1)]);
    expect(await text(journal())).toBe("");
  });

  it("replays the journal after a crash (no close), then starts a fresh one", async () => {
    const crashed = await openStore({ dataDir: sandbox.path });
    await crashed.update((d) => {
      d.goals.push(goal(1), goal(2));
      setNextGoalId(d, 3);
    });
    await crashed.update((d) => {
      d.goals = d.goals.filter((g) => g.id !== 1);
    });
    // Never closed: the lock names our own pid, which a new open takes over as stale.
    const store = track(await openStore({ dataDir: sandbox.path }));
    expect(store.data.goals).toEqual([goal(2)]);
    expect(nextGoalId(store.data)).toBe(3);
    expect(await text(journal())).toBe("");
    expect(JSON.parse(await text(sandbox.dbFile())).goals).toEqual([goal(2)]);
  });

  it("ignores a torn last line (a write cut off) but refuses a broken line before others", async () => {
    const crashed = await openStore({ dataDir: sandbox.path });
    await crashed.update((d) => d.goals.push(goal(1)));
    await appendFile(journal(), '{"seq":2,"changes":[["put","goals",{"id":2,'); // cut off
    const store = await openStore({ dataDir: sandbox.path });
    expect(store.data.goals).toEqual([goal(1)]);
    await store.update((d) => d.goals.push(goal(3)));
    const broken = `not json\n${await text(journal())}`;
    await writeFile(journal(), broken);
    const err = await openStore({ dataDir: sandbox.path }).catch((e) => e);
    expect(err).toBeInstanceOf(CorruptStoreError);
    expect(err.message).toMatch(/db\.journal cannot be read: line 1 is not a journal entry/);
    expect(err.message).toMatch(/Newest backup: .*backups/);
    expect(await text(journal())).toBe(broken);
  });

  it("skips journal lines db.json already holds, so a stale line never rolls a change back", async () => {
    const store = await openStore({ dataDir: sandbox.path });
    await store.update((d) => d.goals.push(goal(1)));
    const stale = await text(journal()); // goal 1, not done
    await store.update((d) => {
      d.goals = [done(1)];
    });
    await store.close(); // db.json now holds both lines
    await writeFile(journal(), stale); // as if emptying the journal had failed
    const again = track(await openStore({ dataDir: sandbox.path }));
    expect(again.data.goals).toEqual([done(1)]);
  });

  it("rewrites db.json once the journal outgrows its limit, losing nothing", async () => {
    const store = await openStore({ dataDir: sandbox.path, compactAt: 2048 });
    for (let i = 1; i <= 200; i++) await store.update((d) => d.goals.push(goal(i)));
    // The journal stays below the larger of the limit and db.json, plus the line that crossed it.
    const db = await text(sandbox.dbFile());
    expect((await text(journal())).length).toBeLessThan(Math.max(2048, db.length) + 200);
    expect(JSON.parse(db).goals.length).toBeGreaterThan(100);
    const reopened = track(await openStore({ dataDir: sandbox.path })); // a crash: not closed
    expect(reopened.data.goals.map((g) => g.id)).toEqual(
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
  });

  it("freezes stored items, so a change in place fails loudly instead of being lost", async () => {
    const store = track(await openStore({ dataDir: sandbox.path }));
    await store.update((d) => d.goals.push(goal(1)));
    const stored = store.data.goals[0] as ReturnType<typeof goal>;
    expect(() => {
      (stored as { doneAt: string | null }).doneAt = "2026-11-26T12:00:00.000Z";
    }).toThrow(TypeError);
    expect(store.data.goals).toEqual([goal(1)]);
  });

  it("skips the zod check only for the exact db.json it wrote (db.json.checked)", async () => {
    const store = await openStore({ dataDir: sandbox.path });
    await store.update((d) => d.goals.push(goal(1)));
    await store.close();
    const seal = new Seal(sandbox.dbFile(), nodeFs);
    expect(await seal.matches(await text(sandbox.dbFile()))).toBe(true);

    // A file with a seal of its own bytes is taken as written: that is the trust the seal
    // carries (here forged, to show it is the seal, not the content, that decides).
    const wrongShape = `${JSON.stringify({ schemaVersion: SCHEMA_VERSION, goals: [{ id: "x" }] })}\n`;
    await writeFile(sandbox.dbFile(), wrongShape);
    await seal.record(wrongShape);
    await (await openStore({ dataDir: sandbox.path })).close();
    // One byte off, and the file is checked, and refused.
    await writeFile(sandbox.dbFile(), `${wrongShape.trim()} \n`);
    const err = await openStore({ dataDir: sandbox.path }).catch((e) => e);
    expect(err).toBeInstanceOf(CorruptStoreError);
    expect(err.message).toMatch(/expected shape \(goals\.0/);
  });
});
