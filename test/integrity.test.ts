import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sleep } from "../src/time/clock.ts";
import {
  closedAfterEach,
  makeWorld,
  readExecutions,
  runUntil,
  scriptedHandler,
} from "./support/world.ts";

// Faults an operator meets that the first fault matrix did not try (issue 12).

const keep = closedAfterEach();

describe("a wall-clock step (NTP, a VM resumed)", () => {
  it("back, during a run: durations stay true, the store and the log stay readable", async () => {
    let clockOf: (() => { stepWall(ms: number): void }) | undefined;
    const h = scriptedHandler("stepper", [
      async (ctx) => {
        clockOf?.().stepWall(-3_600_000); // the wall clock jumps back an hour mid-run
        await sleep(ctx.clock, 2_000, ctx.signal);
        return "done";
      },
    ]);
    const w = keep(await makeWorld({ start: "2026-11-28T08:00:00Z", handlers: [h] }));
    clockOf = () => w.clock;
    await w.app.service.addTask("local", { id: "s", handler: "stepper", schedule: "daily 09:00" });
    const running = w.app.service.runNow("local", "s");
    await w.clock.advance(2_000);
    const result = await running;
    expect(result.durationMs).toBe(2_000);
    const [line] = await readExecutions(w);
    expect(line?.durationMs).toBe(2_000);
    expect(w.app.service.getTask("local", "s").history.lastDurationMs).toBe(2_000);
    // A crash now (no clean close) and a restart: the store opens, the run is in history.
    const again = keep(await w.restart());
    expect(again.app.service.getTask("local", "s").history.totalRuns).toBe(1);
    const report = await again.app.service.history("local", "s");
    expect(report.recent.map((e) => [e.status, e.durationMs])).toEqual([["success", 2_000]]);
  });

  it("a log line the reader cannot use is counted and reported, not dropped in silence", async () => {
    const w = keep(await makeWorld({ start: "2026-11-28T08:00:00Z" }));
    await w.app.service.addTask("local", { id: "t", handler: "test", schedule: "daily 09:00" });
    await w.app.service.runNow("local", "t");
    // As the code before this fix wrote it after a step back: a negative duration.
    const bad = { ...(await readExecutions(w))[0], durationMs: -3_599_000 };
    await appendFile(join(w.dataDir, "logs", "executions.jsonl"), `${JSON.stringify(bad)}\n{"torn`);
    await w.app.service.history("local", "t");
    const warned = w.lines.find((l) =>
      String(l.msg).includes("could not be read and were skipped"),
    );
    expect(warned).toMatchObject({ skipped: 2 });
  });

  it("steps back and forward between runs: no scheduled instant runs twice, none is skipped", async () => {
    const h = scriptedHandler("rec", [() => "ok"]);
    const w = keep(await makeWorld({ start: "2026-11-28T07:00:00Z", handlers: [h] }));
    await w.app.service.addTask("local", { id: "d", handler: "rec", schedule: "daily 08:00" });
    await runUntil(w, "2026-11-28T08:00:30Z");
    w.clock.stepWall(-3_600_000); // 08:00:30 reads 07:00:30 again
    await runUntil(w, "2026-11-29T07:00:00Z");
    w.clock.stepWall(2 * 3_600_000); // 07:00 jumps to 09:00: 08:00 is passed in the jump
    await runUntil(w, "2026-11-29T12:00:00Z");
    expect(h.calls.map((c) => c.scheduledFor.toISOString())).toEqual([
      "2026-11-28T08:00:00.000Z",
      "2026-11-29T08:00:00.000Z",
    ]);
    const late = (await readExecutions(w)).at(-1);
    expect(late).toMatchObject({ trigger: "schedule", status: "success" });
  });
});
