import { stat } from "node:fs/promises";
import { join } from "node:path";
import { createApp } from "../src/app.ts";
import { noopHandler } from "./fixtures.ts";
import { benchConfig } from "./lib.ts";
import { devNullLogger } from "./logger.ts";

// One durable mutation through the service (add, edit, disable or enable, interleaved), each awaited until
// it is on disk, with N tasks stored; then bursts of 1,000 concurrent adds.
//
// The store folds db.journal into db.json once the journal outgrows it, and that write is the
// slow one. Left alone, it comes once per several thousand mutations, so a short window would
// never see one. Before each round the journal is grown, unmeasured, to just under that point
// (as the history counters of running tasks grow it in production), so a compaction falls
// inside every measured round. Each is counted and timed.
//
// With `databaseUrl` the store is PostgreSQL's (a change is a transaction, committed and
// flushed to the server's WAL before it resolves); there is no journal to fold.

export interface MutationArgs {
  dir: string;
  rounds: number;
  /** Mutations of each kind per round, interleaved. */
  perRound: number;
  /** Rounds of 1,000 concurrent adds (0: none). */
  bursts: number;
  /** Grow the journal before each round so that a compaction falls inside it. */
  compaction: boolean;
  /** The store on this PostgreSQL database (its tasks written there) instead of `dir`'s file. */
  databaseUrl?: string;
}

export type Op = "add" | "edit" | "disable";

export interface MutationResult {
  n: number;
  /** Per op, each round's samples in ms. */
  samples: Record<Op, number[][]>;
  /** The mutations that folded the journal into db.json. */
  compactions: { op: Op; ms: number }[];
  /** db.json's size at the start, in bytes. */
  dbBytes: number;
  burstMs: number[];
}

/** Mirrors the store's rule: the journal is folded once bigger than both this and db.json. */
const COMPACT_FLOOR_BYTES = 1 << 20;

export async function mutationChild({
  dir,
  rounds,
  perRound,
  bursts,
  compaction,
  databaseUrl,
}: MutationArgs): Promise<MutationResult> {
  const app = await createApp({
    config: { ...benchConfig(dir), ...(databaseUrl && { DATABASE_URL: databaseUrl }) },
    log: devNullLogger(),
    handlers: [noopHandler()],
  });
  await app.scheduler.start();
  const { service, store } = app;
  const n = store.data.tasks.length;
  const ids = store.data.tasks.map((t) => t.id);
  const sizeOf = async (file: string) =>
    (await stat(join(dir, file)).catch(() => ({ size: 0 }))).size;
  let seq = 0;
  const time = async (fn: () => Promise<unknown>) => {
    const t = performance.now();
    await fn();
    return performance.now() - t;
  };
  const result: MutationResult = {
    n,
    samples: { add: [], edit: [], disable: [] },
    compactions: [],
    dbBytes: await sizeOf("db.json"),
    burstMs: [],
  };
  // One warm-up of each, unmeasured.
  await service.addTask("local", { id: `warm-${seq++}`, handler: "noop", schedule: "daily 03:17" });
  await service.editTask("local", ids[0] as string, { name: "warm" });
  await service.setEnabled("local", ids[1] as string, false);

  /** Unmeasured: journal lines of renamed tasks until the journal is `target` bytes. */
  const growJournal = async (target: number) => {
    let perTask = 700;
    for (let size = await sizeOf("db.journal"); size < target; ) {
      const k = Math.min(ids.length, Math.max(1, Math.ceil((target - size) / perTask)));
      await store.update(() => {
        for (let i = 0; i < k; i++) {
          const t = store.task("local", ids[i] as string);
          if (t) store.putTask({ ...t, name: `filler ${seq}` });
        }
      });
      seq++;
      const grown = await sizeOf("db.journal");
      if (grown <= size) break; // folded already: the round starts on an empty journal
      perTask = Math.max(1, (grown - size) / k);
      size = grown;
    }
  };

  for (let r = 0; r < rounds; r++) {
    const journal = await sizeOf("db.journal");
    if (compaction) {
      const limit = Math.max(COMPACT_FLOOR_BYTES, await sizeOf("db.json"));
      // A round appends about perRound × 3 lines of ~700 bytes: the fold lands mid-round.
      const target = limit - perRound * 3 * 350;
      if (journal < target) await growJournal(target);
    }
    const round: Record<Op, number[]> = { add: [], edit: [], disable: [] };
    let before = await sizeOf("db.journal");
    const sample = async (op: Op, fn: () => Promise<unknown>) => {
      const ms = await time(fn);
      round[op].push(ms);
      const after = await sizeOf("db.journal");
      if (after < before) result.compactions.push({ op, ms });
      before = after;
    };
    for (let i = 0; i < perRound; i++) {
      const id = ids[(r * perRound + i * 7 + 2) % ids.length] as string;
      await sample("add", () =>
        service.addTask("local", { id: `new-${seq++}`, handler: "noop", schedule: "daily 03:17" }),
      );
      await sample("edit", () => service.editTask("local", id, { name: `renamed ${seq++}` }));
      // A toggle, so each one is a change even where ids repeat (100 tasks stored).
      const enabled = !service.getTask("local", id).enabled;
      await sample("disable", () => service.setEnabled("local", id, enabled));
    }
    for (const op of ["add", "edit", "disable"] as const) result.samples[op].push(round[op]);
  }
  for (let b = 0; b < bursts; b++) {
    const burst = Array.from({ length: 1000 }, () => `burst-${seq++}`);
    result.burstMs.push(
      await time(() =>
        Promise.all(
          burst.map((id) =>
            service.addTask("local", { id, handler: "noop", schedule: "daily 03:17" }),
          ),
        ),
      ),
    );
    // Back to N tasks for the next round, in one write.
    await store.update(() => {
      for (const id of burst) store.removeTask("local", id);
    });
  }
  await app.close();
  return result;
}
