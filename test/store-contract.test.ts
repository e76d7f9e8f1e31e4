import type pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConflictError } from "../src/shared/errors.ts";
import { PG_SCHEMA_VERSION, PgSchemaError } from "../src/store/pg/pg-schema.ts";
import { PgStore } from "../src/store/pg/pg-store.ts";
import { openStore, type Store } from "../src/store/store.ts";
import type { Task } from "../src/tasks/model.ts";
import { type FreshDatabase, freshDatabase, testPool, withClient } from "./support/postgres.ts";
import { goal, task } from "./support/store-sandbox.ts";
import { until } from "./support/until.ts";
import { tempDir } from "./support/world.ts";

// The store's contract, one suite for both backends: the JSON file (the default) and
// PostgreSQL (DATABASE_URL). Then what only PostgreSQL is for: several processes on one
// database.

interface Backend {
  /** Opens the store (a second call: another process on the same data). */
  open(): Promise<Store>;
}

const backends: [string, () => Promise<Backend & { cleanup(): Promise<void> }>][] = [
  [
    "JSON file",
    async () => {
      const dir = await tempDir();
      return { open: () => openStore({ dataDir: dir.path }), cleanup: () => dir.remove() };
    },
  ],
  [
    "PostgreSQL",
    async () => {
      const db = await freshDatabase();
      const pools: pg.Pool[] = [];
      return {
        async open() {
          const pool = testPool(db.url, { max: 4 });
          pools.push(pool);
          return PgStore.open({ pool, shownUrl: db.name });
        },
        async cleanup() {
          for (const p of pools) await p.end();
          await db.drop();
        },
      };
    },
  ],
];

describe.each(backends)("store contract: %s", (_, make) => {
  let backend: Backend & { cleanup(): Promise<void> };
  let open: Store[];
  const start = async () => {
    const s = await backend.open();
    open.push(s);
    return s;
  };
  const reopen = async (s: Store) => {
    await s.close();
    open.splice(open.indexOf(s), 1);
    return start();
  };
  beforeEach(async () => {
    backend = await make();
    open = [];
  });
  afterEach(async () => {
    for (const s of open) await s.close().catch(() => {});
    await backend.cleanup();
  });

  it("starts empty and created, and keeps changes across a reopen", async () => {
    const store = await start();
    expect(store.created).toBe(true);
    expect(store.data.tasks).toEqual([]);
    await store.update(() => store.putTask(task("a")));
    await store.update((d) => d.goals.push(goal(1)));
    const again = await reopen(store);
    expect(again.created).toBe(false);
    expect(again.task("local", "a")?.name).toBe("a");
    expect(again.data.goals).toEqual([goal(1)]);
  });

  it("loses none of 500 concurrent changes", async () => {
    const store = await start();
    await Promise.all(
      Array.from({ length: 500 }, (_, i) => store.update(() => store.putTask(task(`t${i}`)))),
    );
    const again = await reopen(store);
    expect(again.tasksOf("local")).toHaveLength(500);
    // In the order they were added.
    expect(
      again
        .tasksOf("local")
        .map((t) => t.id)
        .slice(0, 3),
    ).toEqual(["t0", "t1", "t2"]);
  });

  it("a change that throws changes nothing and rejects its caller only", async () => {
    const store = await start();
    const ok = store.update(() => store.putTask(task("a")));
    const bad = store.update(() => {
      throw new Error("refused");
    });
    await expect(bad).rejects.toThrow("refused");
    await ok;
    expect((await reopen(store)).tasksOf("local").map((t) => t.id)).toEqual(["a"]);
  });

  it("keeps tenants apart: the same id in two servers, each its own", async () => {
    const store = await start();
    await store.update(() => {
      store.putTask(task("backup", "one", "111111111111111111"));
      store.putTask(task("backup", "two", "222222222222222222"));
    });
    const again = await reopen(store);
    expect(again.task("111111111111111111", "backup")?.name).toBe("one");
    expect(again.task("222222222222222222", "backup")?.name).toBe("two");
    expect(again.tasksOf("111111111111111111")).toHaveLength(1);
    expect(again.task("local", "backup")).toBeUndefined();
  });

  it("replaces and removes tasks, telling listeners of each change", async () => {
    const store = await start();
    const seen: [string | undefined, string | undefined][] = [];
    store.onTaskChange((before, after) => seen.push([before?.name, after?.name]));
    await store.update(() => store.putTask(task("a", "first")));
    await store.update(() =>
      store.putTask({ ...(store.task("local", "a") as Task), name: "second" }),
    );
    await store.update(() => store.removeTask("local", "a"));
    expect(seen).toEqual([
      [undefined, "first"],
      ["first", "second"],
      ["second", undefined],
    ]);
    await store.update(() => store.putTask(task("b")));
    const { written } = store.updateSoon(() =>
      store.putTask({ ...(store.task("local", "b") as Task), name: "soon" }),
    );
    await written;
    const again = await reopen(store);
    expect(again.tasksOf("local").map((t) => `${t.id}:${t.name}`)).toEqual(["b:soon"]);
  });
});

describe("PostgreSQL: several processes on one database", () => {
  let db: FreshDatabase;
  const pools: pg.Pool[] = [];
  const stores: Store[] = [];
  const open = async () => {
    const pool = testPool(db.url, { max: 4 });
    pools.push(pool);
    const store = await PgStore.open({ pool, shownUrl: db.name });
    stores.push(store);
    return store;
  };
  beforeEach(async () => {
    db = await freshDatabase();
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close().catch(() => {});
    for (const p of pools.splice(0)) await p.end();
    await db.drop();
  });

  it("a change made by one process reaches the others, and their listeners", async () => {
    const a = await open();
    const b = await open();
    const seen: string[] = [];
    b.onTaskChange((before, after) => seen.push(`${before?.name ?? "-"}>${after?.name ?? "-"}`));
    await a.update(() => a.putTask(task("x", "one")));
    await until(() => b.task("local", "x") !== undefined);
    await a.update(() => a.putTask({ ...(a.task("local", "x") as Task), name: "two" }));
    await until(() => b.task("local", "x")?.name === "two");
    await a.update(() => a.removeTask("local", "x"));
    await until(() => b.task("local", "x") === undefined);
    expect(seen).toEqual(["->one", "one>two", "two>-"]);
    // b's own later change of another record is written against the state it was told of.
    await b.update(() => b.putTask(task("y")));
    expect((await open()).tasksOf("local").map((t) => t.id)).toEqual(["y"]);
  });

  it("two processes changing the same task at once: one wins, the other gets a clear answer", async () => {
    const a = await open();
    const b = await open();
    await a.update(() => a.putTask(task("x", "start")));
    await until(() => b.task("local", "x") !== undefined);
    const results = await Promise.allSettled([
      a.update(() => a.putTask({ ...(a.task("local", "x") as Task), name: "from a" })),
      b.update(() => b.putTask({ ...(b.task("local", "x") as Task), name: "from b" })),
    ]);
    const lost = results.filter((r) => r.status === "rejected");
    expect(lost).toHaveLength(1);
    const reason = (lost[0] as PromiseRejectedResult).reason;
    expect(reason).toBeInstanceOf(ConflictError);
    expect(reason.message).toContain("changed by another Mission Control process");
    const winner = results[0]?.status === "fulfilled" ? "from a" : "from b";
    const stored = (await open()).task("local", "x");
    expect(stored?.name).toBe(winner);
    // The loser's memory went back to what is stored: nothing half-applied.
    await until(
      () => a.task("local", "x")?.name === winner && b.task("local", "x")?.name === winner,
    );
  });

  it("a change of hundreds of records at once reaches the others (too many to list in a NOTIFY)", async () => {
    const a = await open();
    const b = await open();
    await a.update(() => {
      for (let i = 0; i < 300; i++) a.putTask(task(`bulk-${i}`));
    });
    await until(() => b.tasksOf("local").length === 300);
  });

  it("bookkeeping that loses to another process's write of the same task is applied again on top", async () => {
    const a = await open();
    const b = await open();
    await a.update(() => a.putTask(task("x", "start")));
    await until(() => b.task("local", "x") !== undefined);
    // a's deferred change is written after b's change of the same task, which it has not heard of.
    const soon = a.updateSoon(() => {
      const t = a.task("local", "x") as Task;
      a.putTask({ ...t, description: "counted by a" });
    });
    await b.update(() => b.putTask({ ...(b.task("local", "x") as Task), name: "renamed by b" }));
    await soon.written;
    const stored = (await open()).task("local", "x");
    expect(stored).toMatchObject({ name: "renamed by b", description: "counted by a" });
  });

  it("a task deleted and added again elsewhere (its version starting over) is the new one here", async () => {
    const a = await open();
    await a.update(() => a.putTask(task("x", "old")));
    await a.update(() => a.putTask({ ...(a.task("local", "x") as Task), name: "old, edited" }));
    // What a process hears when another deleted the task and added a new one of the same id
    // before it read the row back: a row whose version is lower than the one it knew.
    await withClient(db.url, async (c) => {
      await c.query("BEGIN");
      await c.query("DELETE FROM mc_records WHERE list = 'tasks' AND id = 'x'");
      await c.query(
        "INSERT INTO mc_records (tenant, list, id, data, version) VALUES ('local', 'tasks', 'x', $1, 1)",
        [JSON.stringify(task("x", "new"))],
      );
      const keys = [{ tenant: "local", list: "tasks", id: "x" }];
      await c.query("SELECT pg_notify('mission_control_records', $1)", [
        JSON.stringify({ origin: "elsewhere", keys }),
      ]);
      await c.query("COMMIT");
    });
    await until(() => a.task("local", "x")?.name === "new");
  });

  it("adds the steps an older schema lacks at a start, keeping its records", async () => {
    const first = await open();
    await first.update(() => first.putTask(task("kept")));
    await first.close();
    stores.splice(0);
    // As a database of schema 1 was: records only, no execution log or delivery records.
    await pools[0]?.query("DROP TABLE mc_executions, mc_deliveries");
    await pools[0]?.query("UPDATE mc_meta SET value = '1' WHERE key = 'schema_version'");
    const again = await open();
    expect(again.created).toBe(false);
    expect(again.task("local", "kept")).toBeDefined();
    const { rows } = await (pools[0] as pg.Pool).query(
      "SELECT value::int AS v, to_regclass('mc_executions') IS NOT NULL AS log, to_regclass('mc_deliveries') IS NOT NULL AS deliveries FROM mc_meta WHERE key = 'schema_version'",
    );
    expect(rows[0]).toEqual({ v: PG_SCHEMA_VERSION, log: true, deliveries: true });
  });

  it("refuses a database whose schema is newer than the code, saying what to do", async () => {
    const first = await open();
    await first.close();
    stores.splice(0);
    await pools[0]?.query("UPDATE mc_meta SET value = '99' WHERE key = 'schema_version'");
    const err = await open().catch((e) => e);
    expect(err).toBeInstanceOf(PgSchemaError);
    expect(err.message).toMatch(/schema version 99, newer than this version of Mission Control/);
  });
});
