import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SLICE_MS, StartGates } from "../src/engine/start-gates.ts";
import { makeWorld, runUntil, scriptedHandler, tempDir, type World } from "./support/world.ts";

// A burst of due runs: every run is claimed before any handler is called, and the handlers
// start in slices of time that let the rest of the process in between.

function countFiles(path: string): number {
  if (!existsSync(path)) return 0;
  return readdirSync(path, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
    .length;
}

let dir: Awaited<ReturnType<typeof tempDir>>;
let world: World | undefined;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await world?.close();
  world = undefined;
  await dir.remove();
});

describe("a burst of due runs", () => {
  it("claims every run before the first handler is called, then starts each once, in slices", async () => {
    // Handlers that work synchronously for 1 ms each: the burst lasts several slices.
    const n = SLICE_MS * 4;
    const claimedAtFirstCall: number[] = [];
    const callsBeforeOtherWork: number[] = [];
    const outputsAtLastCall: number[] = [];
    let calls = 0;
    const h = scriptedHandler("rec", [
      () => {
        const until = performance.now() + 1;
        while (performance.now() < until) {
          // a handler's synchronous work
        }
        calls++;
        // The last handler of the burst: no run's bookkeeping has begun yet.
        if (calls === n) outputsAtLastCall.push(countFiles(join(dir.path, "outputs")));
        if (calls === 1) {
          const { runner, store } = world?.app ?? {};
          claimedAtFirstCall.push(
            (store?.data.tasks ?? []).filter((t) => runner?.isRunning("local", t.id)).length,
          );
          // Other work queued when the first handler starts: it runs before the last one does.
          setImmediate(() => callsBeforeOtherWork.push(calls));
        }
        return "done";
      },
    ]);
    world = await makeWorld({ start: "2026-11-26T07:59:00Z", handlers: [h], dataDir: dir.path });
    const { service, store } = world.app;
    await service.addTask("local", { id: "seed", handler: "rec", schedule: "daily 08:00" });
    const seed = service.getTask("local", "seed");
    await store.update(() => {
      for (let i = 1; i < n; i++) store.putTask({ ...structuredClone(seed), id: `t${i}` });
    });
    await runUntil(world, "2026-11-26T08:00:30Z");
    const ids = h.calls.map((c) => c.task.id);
    expect(ids).toHaveLength(n);
    expect(new Set(ids).size).toBe(n);
    expect(claimedAtFirstCall).toEqual([n]);
    expect(callsBeforeOtherWork).toHaveLength(1);
    expect(callsBeforeOtherWork[0]).toBeLessThan(n);
    const logged = service.getTask("local", `t${n - 1}`).history.totalRuns;
    expect(logged).toBe(1);
    expect(outputsAtLastCall).toEqual([0]);
    expect(countFiles(join(dir.path, "outputs"))).toBe(n);
  });
});

describe("StartGates", () => {
  it("starts in order, a slice of SLICE_MS at a time, and at once once the burst is over", async () => {
    let now = 0;
    const gates = new StartGates(() => now);
    const started: number[] = [];
    const runs = [0, 1, 2, 3, 4].map((i) =>
      gates.add(async () => {
        started.push(i);
        now += SLICE_MS / 2; // each handler works half a slice
        return i;
      }),
    );
    gates.open();
    // The first slice ends once SLICE_MS have gone by: after the second start.
    expect(started).toEqual([0, 1]);
    await gates.allOpened;
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3, 4]);
    const late = gates.add(async () => {
      started.push(5);
      return 5;
    });
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    expect(await late).toBe(5);
  });

  it("a start that throws rejects its own run only", async () => {
    const gates = new StartGates();
    const bad = gates.add((): Promise<number> => {
      throw new Error("no start");
    });
    const good = gates.add(async () => 1);
    gates.open();
    await expect(bad).rejects.toThrow("no start");
    expect(await good).toBe(1);
  });
});
