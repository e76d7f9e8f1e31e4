import { createApp } from "../src/app.ts";
import { noopHandler } from "./fixtures.ts";
import { benchConfig, type Dist, dist } from "./lib.ts";
import { devNullLogger } from "./logger.ts";

// One durable mutation through the service (add, edit, disable), each awaited until it is on
// disk, with N tasks stored; then bursts of 1,000 concurrent adds.

export interface MutationArgs {
  dir: string;
  rounds: number;
  /** Mutations of each kind per round, one after the other. */
  perRound: number;
  /** Rounds of 1,000 concurrent adds (0: none). */
  bursts: number;
}

export interface MutationResult {
  n: number;
  add: Dist[];
  edit: Dist[];
  disable: Dist[];
  burstMs: number[];
}

export async function mutationChild({
  dir,
  rounds,
  perRound,
  bursts,
}: MutationArgs): Promise<MutationResult> {
  const app = await createApp({
    config: benchConfig(dir),
    log: devNullLogger(),
    handlers: [noopHandler()],
  });
  await app.scheduler.start();
  const { service, store } = app;
  const n = store.data.tasks.length;
  const ids = store.data.tasks.map((t) => t.id);
  let seq = 0;
  const time = async (fn: () => Promise<unknown>) => {
    const t = performance.now();
    await fn();
    return performance.now() - t;
  };
  const result: MutationResult = { n, add: [], edit: [], disable: [], burstMs: [] };
  // One warm-up of each, unmeasured.
  await service.addTask("local", { id: `warm-${seq++}`, handler: "noop", schedule: "daily 03:17" });
  await service.editTask("local", ids[0] as string, { name: "warm" });
  await service.setEnabled("local", ids[1] as string, false);
  for (let r = 0; r < rounds; r++) {
    const add: number[] = [];
    const edit: number[] = [];
    const disable: number[] = [];
    for (let i = 0; i < perRound; i++) {
      const id = ids[(r * perRound + i * 7 + 2) % ids.length] as string;
      add.push(
        await time(() =>
          service.addTask("local", {
            id: `new-${seq++}`,
            handler: "noop",
            schedule: "daily 03:17",
          }),
        ),
      );
      edit.push(await time(() => service.editTask("local", id, { name: `renamed ${seq}` })));
      disable.push(await time(() => service.setEnabled("local", id, false)));
    }
    result.add.push(dist(add));
    result.edit.push(dist(edit));
    result.disable.push(dist(disable));
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
