import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type BurstRun, SLICE_MS, StartGates } from "../src/engine/start-gates.ts";
import {
  makeWorld,
  readLogLines,
  runUntil,
  scriptedHandler,
  tempDir,
  type World,
} from "./support/world.ts";

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

/** A handler's synchronous work. */
function work(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy
  }
}

/** `n` tasks of `handler` due at 08:00 together (a seed with `fields`, and copies), run past it. */
async function burst(
  n: number,
  handler: ReturnType<typeof scriptedHandler>,
  fields: Record<string, unknown> = {},
): Promise<World> {
  world = await makeWorld({
    start: "2026-11-26T07:59:00Z",
    handlers: [handler],
    dataDir: dir.path,
  });
  const { service, store } = world.app;
  await service.addTask("local", {
    id: "seed",
    handler: handler.name,
    schedule: "daily 08:00",
    ...fields,
  });
  const seed = service.getTask("local", "seed");
  await store.update(() => {
    for (let i = 1; i < n; i++) store.putTask({ ...structuredClone(seed), id: `t${i}` });
  });
  await runUntil(world, "2026-11-26T08:00:30Z");
  return world;
}

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
        work(1);
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
    const { service } = (await burst(n, h)).app;
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

  it("a handler that rejects in an early slice fails its run, and its rejection is never unhandled", async () => {
    // The burst yields between slices, so the first slices' rejections meet a drained microtask
    // queue before their runs go on: without a handler on them they would be unhandled (a crash).
    const n = SLICE_MS * 3;
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const h = scriptedHandler("boom", [
        () => {
          work(1);
          throw new Error("the feed is down");
        },
      ]);
      const { service } = (await burst(n, h, { retries: 0 })).app;
      expect(h.calls).toHaveLength(n);
      const statuses = service.listTasks("local").map((t) => t.history.lastStatus);
      expect(statuses).toEqual(Array(n).fill("failure"));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("a handler whose promise settled in time is neither timed out nor timed with the burst by a deadline passing later in it", async () => {
    // Each handler's promise settles at once, but the burst lasts 15 slices, and the clock
    // moves 2 s on (past the 1 s timeout of the handlers started so far) while later ones
    // still start.
    const n = SLICE_MS * 3;
    let calls = 0;
    const h = scriptedHandler("quick", [
      () => {
        work(5);
        if (++calls === 1) setImmediate(() => void world?.clock.advance(2000));
        return "done";
      },
    ]);
    const { service } = (await burst(n, h, { timeoutSeconds: 1, retries: 0 })).app;
    expect(h.calls).toHaveLength(n);
    const statuses = service.listTasks("local").map((t) => t.history.lastStatus);
    expect(statuses).toEqual(Array(n).fill("success"));
    // Each attempt's own time, not its wait for the burst: the clock moved 2 s meanwhile.
    const durations = (await readLogLines(dir.path)).map((l) => l.durationMs);
    expect(durations).toEqual(Array(n).fill(0));
  });

  it("a shutdown that begins in the first slice waits for every run of the burst, started or not", async () => {
    const n = SLICE_MS * 3;
    const stopped: Promise<number>[] = [];
    const h = scriptedHandler("busy", [
      () => {
        work(1);
        const app = world?.app;
        // Most of the burst is claimed but not started yet: no promise of theirs exists so far.
        if (app && !stopped.length) {
          const recorded = () =>
            app.service.listTasks("local").filter((t) => t.history.totalRuns === 1).length;
          stopped.push(app.runner.stop(60_000).then(recorded));
        }
        return "done";
      },
    ]);
    await burst(n, h);
    // Once stop() is over, every run has ended and kept its record.
    expect(await stopped[0]).toBe(n);
  });
});

describe("StartGates", () => {
  /** A run that notes its steps in `steps`, and does `work` at its start. */
  function run(steps: string[], name: string, work: () => void = () => {}): BurstRun {
    return {
      start: () => {
        steps.push(`start ${name}`);
        work();
      },
      resume: () => steps.push(`resume ${name}`),
    };
  }

  it("starts in order, a slice of SLICE_MS at a time, resumes after every start, and at once once the burst is over", async () => {
    let now = 0;
    const gates = new StartGates(() => now);
    const steps: string[] = [];
    const halfASlice = () => {
      now += SLICE_MS / 2;
    };
    for (const name of ["a", "b", "c", "d"]) gates.add(run(steps, name, halfASlice));
    gates.open();
    // The first slice ends once SLICE_MS have gone by: after the second start.
    expect(steps).toEqual(["start a", "start b"]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(steps).toEqual([
      ...["start a", "start b", "start c", "start d"],
      ...["resume a", "resume b", "resume c", "resume d"],
    ]);
    gates.add(run(steps, "late"));
    expect(steps.slice(-2)).toEqual(["start late", "resume late"]);
  });

  it("reads the clock less often while handlers return at once, and soon after every start again once they take time", () => {
    let now = 0;
    let reads = 0;
    const gates = new StartGates(() => {
      reads++;
      return now;
    });
    const steps: string[] = [];
    const quick = () => {
      now += 0.001;
    };
    const slow = () => {
      now += SLICE_MS / 4;
    };
    for (let k = 0; k < 200; k++) gates.add(run(steps, `q${k}`, quick));
    for (let k = 0; k < 20; k++) gates.add(run(steps, `s${k}`, slow));
    gates.open();
    const started = steps.filter((s) => s.startsWith("start"));
    // The quick ones are started on far fewer reads than starts...
    expect(reads).toBeLessThan(200 / 4);
    // ...and the first slice still ends a few slow starts after SLICE_MS: 4 of them fill it.
    expect(started.length).toBeGreaterThan(200 + 4);
    expect(started.length).toBeLessThanOrEqual(200 + 4 + 8);
  });
});
