import { describe, expect, it, vi } from "vitest";
import type { Db } from "../src/store/db-schema.ts";
import { openStore, type Store } from "../src/store/store.ts";
import type { Task } from "../src/tasks/model.ts";
import { Crash, CrashFs } from "./support/crash-fs.ts";
import { goal, storeSandbox, task } from "./support/store-sandbox.ts";
import { tempDir } from "./support/world.ts";

// A write carries only what changed: tasks changed through putTask and removeTask are looked at
// alone, and a list handed out (store.data.tasks, the db an update gets) is checked in full at
// the next write, since its caller may have changed it in place. Each step below is checked
// against what is on disk (db.json with the journal replayed), as a restart would read it.

const sandbox = storeSandbox();
const { onDisk, track } = sandbox;

/** Tasks as "id:name" and goals as "id:text", sorted; read without handing out data.tasks. */
const inMemory = (store: Store) =>
  JSON.stringify({
    tasks: store
      .tasksOf("local")
      .map((t) => `${t.id}:${t.name}`)
      .sort(),
    goals: store.data.goals.map((g) => `${g.id}:${g.text}`).sort(),
  });
const stored = (db: Db) =>
  JSON.stringify({
    tasks: db.tasks.map((t) => `${t.id}:${t.name}`).sort(),
    goals: db.goals.map((g) => `${g.id}:${g.text}`).sort(),
  });

/** Changes made every way callers make them; each returns what it did, for the messages. */
type Step = (store: Store) => Promise<unknown> | unknown;
const steps: [string, Step][] = [
  [
    "several puts in one update",
    (s) =>
      s.update(() => {
        for (const id of ["a", "b", "c", "d"]) s.putTask(task(id));
      }),
  ],
  [
    "an add and an edit of it in one update",
    (s) =>
      s.update(() => {
        s.putTask(task("e"));
        s.putTask(task("e", "e edited"));
      }),
  ],
  [
    "a remove then a re-add of the same id in one update",
    (s) =>
      s.update(() => {
        s.removeTask("local", "b");
        s.putTask(task("b", "b again"));
      }),
  ],
  ["a remove", (s) => s.update(() => s.removeTask("local", "c"))],
  [
    "the removed id added back in a later update",
    (s) => s.update(() => s.putTask(task("c", "c2"))),
  ],
  [
    "a splice in place (same length) beside a put, in one update",
    (s) =>
      s.update((db) => {
        db.tasks.splice(0, 1, task("f")); // "a" replaced by "f"
        s.putTask(task("d", "d edited"));
      }),
  ],
  [
    "a put of the spliced-in task right after (found in place, not added twice)",
    (s) => s.update(() => s.putTask(task("f", "f edited"))),
  ],
  [
    "a splice in place and a put of the task spliced in, in one update",
    (s) =>
      s.update((db) => {
        db.tasks.splice(1, 1, task("m")); // "b" replaced by "m"
        s.putTask(task("m", "m edited"));
      }),
  ],
  ["a push in place", (s) => s.update((db) => db.tasks.push(task("g")))],
  ["a remove of the pushed task", (s) => s.update(() => s.removeTask("local", "g"))],
  [
    "a put after a push, in one update",
    (s) =>
      s.update((db) => {
        db.tasks.push(task("h"));
        s.putTask(task("h", "h edited"));
        s.putTask(task("i"));
      }),
  ],
  [
    "store.data.tasks changed in place inside an update",
    (s) =>
      s.update(() => {
        s.data.tasks.splice(1, 1);
      }),
  ],
  ["a reorder in place", (s) => s.update((db) => db.tasks.reverse())],
  [
    "a new array",
    (s) =>
      s.update((db) => {
        db.tasks = db.tasks.filter((t) => t.id !== "e");
      }),
  ],
  ["a put after the new array", (s) => s.update(() => s.putTask(task("d", "d again")))],
  [
    "an edit undone: the earlier task object put back",
    async (s) => {
      const before = s.task("local", "f") as Task;
      await s.update(() => s.putTask({ ...before, name: "f changed" }));
      return s.update(() => s.putTask(before));
    },
  ],
  [
    "updateSoon with a put, carried by the next update",
    (s) => {
      s.updateSoon(() => s.putTask(task("j"))).written.catch(() => {}); // a crash: rejected
      return s.update(() => s.putTask(task("k")));
    },
  ],
  [
    "goals pushed and replaced in place, tasks put, in one update",
    (s) =>
      s.update((db) => {
        db.goals.push(goal(1), goal(2));
        db.goals[0] = { ...goal(1), text: "first" };
        s.putTask(task("l"));
      }),
  ],
  [
    "a goal's edit undone in place: the earlier object put back",
    async (s) => {
      const before = s.data.goals[1] as Db["goals"][number];
      await s.update((db) => {
        db.goals[1] = { ...before, text: "second" };
      });
      return s.update((db) => {
        db.goals[1] = before;
      });
    },
  ],
];

describe("writes carry only what changed", () => {
  it("every kind of change reaches the disk, each checked against a reread", async () => {
    const store = await openStore({ dataDir: sandbox.path });
    for (const [what, step] of steps) {
      await step(store);
      expect(stored(await onDisk()), `after: ${what}`).toBe(inMemory(store));
      // The index agrees with a scan of the list (read without handing the list out, which
      // would have the next write check it in full).
      const tasks = store.tasksOf("local");
      for (const t of tasks) expect(store.task("local", t.id), what).toBe(t);
      for (const id of ["a", "e", "g", "x"])
        expect(store.task("local", id), `${id} after: ${what}`).toBe(
          tasks.find((t) => t.id === id),
        );
    }
    // Not closed, as after a crash: a restart replays the journal.
    const again = track(await openStore({ dataDir: sandbox.path }));
    expect(inMemory(again)).toBe(inMemory(store));
  });

  // (A reorder in place is not a change the journal records; db.json has it once rewritten.)
  it("keeps new tasks in the order they were added across a restart", async () => {
    const store = await openStore({ dataDir: sandbox.path });
    await store.update(() => {
      for (const id of ["a", "b", "c"]) store.putTask(task(id));
    });
    await store.update(() => {
      store.putTask(task("x"));
      store.putTask(task("y"));
      store.removeTask("local", "x");
      store.putTask(task("x", "x again")); // now after y
      store.putTask(task("y", "y edited")); // in place
    });
    const again = track(await openStore({ dataDir: sandbox.path }));
    expect(again.tasksOf("local").map((t) => t.id)).toEqual(["a", "b", "c", "y", "x"]);
    expect(again.task("local", "y")?.name).toBe("y edited");
  });

  it("a durable put looks at the task it touched, not at every task stored", async () => {
    const n = 10_000;
    const first = await openStore({ dataDir: sandbox.path });
    await first.update((db) => {
      db.tasks = Array.from({ length: n }, (_, i) => task(`t${i}`));
    });
    await first.close();
    const store = track(await openStore({ dataDir: sandbox.path }));
    // Every item the old way looked at went through a WeakSet or a Map (the diff's "written"
    // check, the index): their calls count the items examined.
    const examined = async (change: () => Promise<unknown>) => {
      const has = vi.spyOn(WeakSet.prototype, "has");
      const set = vi.spyOn(Map.prototype, "set");
      try {
        await change();
        return has.mock.calls.length + set.mock.calls.length;
      } finally {
        has.mockRestore();
        set.mockRestore();
      }
    };
    await store.update(() => store.putTask(task("t1", "warm"))); // the index, built once
    const edit = await examined(() => store.update(() => store.putTask(task("t5", "edited"))));
    const add = await examined(() => store.update(() => store.putTask(task("new"))));
    const both = await examined(() =>
      store.update(() => {
        store.putTask(task("t7", "edited"));
        store.removeTask("local", "t9");
      }),
    );
    // Tasks after the one removed moved: found nearby, without a scan or a new index.
    const after = await examined(() =>
      store.update(() => {
        store.putTask(task("t99", "edited"));
        store.putTask(task("t98", "edited"));
      }),
    );
    const counts = { edit, add, both, after };
    expect(Math.max(...Object.values(counts)), JSON.stringify(counts)).toBeLessThan(50);
    // Handed out, the list is checked in full at the next write: what was counted above.
    const full = await examined(() =>
      store.update((db) => {
        db.tasks.splice(3, 1, task("spliced"));
      }),
    );
    expect(full).toBeGreaterThanOrEqual(n);
    expect(stored(await onDisk())).toBe(inMemory(store));
  });
});

describe("a crash at every point of those writes (a disk that forgets what was not fsynced)", () => {
  /** Runs the steps on `disk`: the state last acknowledged, and the one in flight. */
  async function run(disk: CrashFs, dataDir: string) {
    let acked = stored({ tasks: [], goals: [] } as unknown as Db);
    let pending = acked;
    try {
      // db.json rewritten every few writes: compactions fall between journal appends.
      const store = await openStore({ dataDir, fs: disk.fs, compactAt: 2_000 });
      for (const [, step] of steps) {
        const done = step(store);
        pending = inMemory(store);
        await done;
        acked = inMemory(store);
      }
    } catch (err) {
      if (!(err instanceof Crash) && !(err as Error).message.includes("crash at operation")) {
        throw err;
      }
    }
    return { acked, pending };
  }

  it("every acknowledged change survives, in-place changes and putTask alike", async () => {
    const dir = await tempDir();
    try {
      const clean = new CrashFs();
      const { acked: all } = await run(clean, dir.path);
      expect(all).toBe(stored((await openStore({ dataDir: dir.path, fs: clean.fs })).data));
      const total = clean.ops;
      for (let at = 1; at <= total; at++) {
        const disk = new CrashFs();
        disk.crashAt = at;
        const { acked, pending } = await run(disk, dir.path);
        const store = await openStore({ dataDir: dir.path, fs: disk.afterCrash().fs });
        expect([acked, pending], `after a crash at fs operation ${at}`).toContain(
          stored(store.data),
        );
      }
    } finally {
      await dir.remove();
    }
  }, 120_000);
});
