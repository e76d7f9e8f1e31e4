import { describe, expect, it, vi } from "vitest";
import { sleep } from "../src/time/clock.ts";
import {
  closedAfterEach,
  makeWorld,
  readExecutions,
  runUntil,
  scriptedHandler,
} from "./support/world.ts";

const keep = closedAfterEach();

function recorder() {
  const h = scriptedHandler("rec", [() => "ok"]);
  const runs = () => h.calls.map((c) => `${c.trigger} ${c.scheduledFor.toISOString()}`);
  return { h, runs };
}

describe("scheduler", () => {
  it("runs a daily task at its time, on schedule, and again the next day", async () => {
    const { h, runs } = recorder();
    const w = keep(await makeWorld({ start: "2026-11-26T07:00:00Z", handlers: [h] }));
    await w.app.service.addTask("local", { id: "brief", handler: "rec", schedule: "daily 08:00" });
    expect(w.app.service.nextRun("local", "brief")?.toISOString()).toBe("2026-11-26T08:00:00.000Z");
    await runUntil(w, "2026-11-27T09:00:00Z");
    expect(runs()).toEqual([
      "schedule 2026-11-26T08:00:00.000Z",
      "schedule 2026-11-27T08:00:00.000Z",
    ]);
    const log = await readExecutions(w);
    expect(log.map((e) => [e.runId, e.status, e.ts])).toEqual([
      ["local/brief@2026-11-26T08:00:00.000Z", "success", "2026-11-26T08:00:00.000Z"],
      ["local/brief@2026-11-27T08:00:00.000Z", "success", "2026-11-27T08:00:00.000Z"],
    ]);
    expect(w.app.service.getTask("local", "brief").history.totalRuns).toBe(2);
  });

  it("a task read back unchanged (another process's bookkeeping) keeps the instant that is due", async () => {
    const { h, runs } = recorder();
    const w = keep(await makeWorld({ start: "2026-11-26T07:59:00Z", handlers: [h] }));
    await w.app.service.addTask("local", { id: "brief", handler: "rec", schedule: "daily 08:00" });
    // 08:00 has come, and its timer not fired yet (a busy process), when the task is read back
    // from PostgreSQL: equal, but new objects, schedule included.
    w.clock.stepWall(60_000);
    const { store } = w.app;
    const t = store.task("local", "brief");
    if (!t) throw new Error("no task");
    await store.update(() => store.putTask(structuredClone(t)));
    w.clock.stepWall(-60_000);
    await runUntil(w, "2026-11-26T08:00:30Z");
    expect(runs()).toEqual(["schedule 2026-11-26T08:00:00.000Z"]);
  });

  it("runs daily 02:30 exactly once a day across both DST changes in Europe/Berlin", async () => {
    const { h, runs } = recorder();
    const w = keep(await makeWorld({ start: "2026-03-27T12:00:00Z", handlers: [h] }));
    await w.app.service.addTask("local", {
      id: "night",
      handler: "rec",
      schedule: "daily 02:30",
      timezone: "Europe/Berlin",
    });
    const upcoming = w.app.service.upcomingRuns("local", "night", 3);
    expect(upcoming.map((u) => u.dstNote)).toEqual([
      null,
      "moved from 02:30 to 03:00 by a daylight-saving change",
      null,
    ]);
    await runUntil(w, "2026-03-31T12:00:00Z");
    // 28th 02:30 CET; 29th 02:30 does not exist, run at 03:00 CEST; then 02:30 CEST.
    expect(runs()).toEqual([
      "schedule 2026-03-28T01:30:00.000Z",
      "schedule 2026-03-29T01:00:00.000Z",
      "schedule 2026-03-30T00:30:00.000Z",
      "schedule 2026-03-31T00:30:00.000Z",
    ]);
    await runUntil(w, "2026-10-24T12:00:00Z");
    h.calls.length = 0;
    await runUntil(w, "2026-10-27T12:00:00Z");
    // 25th: 02:30 happens twice (CEST, then CET); it runs once, at the first.
    expect(runs()).toEqual([
      "schedule 2026-10-25T00:30:00.000Z",
      "schedule 2026-10-26T01:30:00.000Z",
      "schedule 2026-10-27T01:30:00.000Z",
    ]);
  });

  it("takes adds, edits, disables and deletes without a restart", async () => {
    const { h, runs } = recorder();
    const w = keep(await makeWorld({ start: "2026-11-26T07:00:00Z", handlers: [h] }));
    const { service } = w.app;
    await service.addTask("local", { id: "a", handler: "rec", schedule: "daily 08:00" });
    await service.editTask("local", "a", { schedule: "daily 07:30" });
    await runUntil(w, "2026-11-26T07:45:00Z");
    expect(runs()).toEqual(["schedule 2026-11-26T07:30:00.000Z"]);
    await service.setEnabled("local", "a", false);
    expect(service.nextRun("local", "a")).toBeNull();
    await runUntil(w, "2026-11-27T08:00:00Z");
    expect(runs()).toHaveLength(1);
    await service.setEnabled("local", "a", true);
    await service.addTask("local", { id: "b", handler: "rec", schedule: "every 1h" });
    await runUntil(w, "2026-11-27T09:30:00Z");
    expect(runs().slice(1)).toEqual(["schedule 2026-11-27T09:00:00.000Z"]);
    await service.deleteTask("local", "b");
    await service.deleteTask("local", "a");
    await runUntil(w, "2026-11-29T00:00:00Z");
    expect(runs()).toHaveLength(2);
    expect(w.clock.pending).toBe(0);
  });

  it("never overlaps runs of one task: a due run is skipped while the last is in progress", async () => {
    const slow = scriptedHandler("slow", [(ctx) => sleep(ctx.clock, 90_000).then(() => "done")]);
    const w = keep(await makeWorld({ start: "2026-11-26T08:00:30Z", handlers: [slow] }));
    await w.app.service.addTask("local", {
      id: "s",
      handler: "slow",
      schedule: "every 1m",
      timeoutSeconds: 300,
    });
    await w.clock.advanceTo("2026-11-26T08:01:00Z");
    await vi.waitFor(() => expect(slow.calls).toHaveLength(1));
    await w.clock.advanceTo("2026-11-26T08:02:00Z"); // due again while the first run sleeps
    await vi.waitFor(async () =>
      expect((await readExecutions(w)).map((e) => e.status)).toEqual(["skipped"]),
    );
    await w.clock.advanceTo("2026-11-26T08:02:30Z"); // the first run ends
    await vi.waitFor(() => expect(w.app.runner.isRunning("local", "s")).toBe(false));
    await w.clock.advanceTo("2026-11-26T08:03:00Z");
    await vi.waitFor(() => expect(slow.calls).toHaveLength(2));
    const log = await readExecutions(w);
    expect(log.map((e) => [e.scheduledFor, e.status])).toEqual([
      ["2026-11-26T08:02:00.000Z", "skipped"],
      ["2026-11-26T08:01:00.000Z", "success"],
    ]);
    expect(log[0]?.error).toMatch(/still in progress/);
    expect(slow.calls[1]?.scheduledFor.toISOString()).toBe("2026-11-26T08:03:00.000Z");
  });

  it("skips the next run once when asked, then carries on", async () => {
    const { h, runs } = recorder();
    const w = keep(await makeWorld({ start: "2026-11-26T07:00:00Z", handlers: [h] }));
    await w.app.service.addTask("local", { id: "a", handler: "rec", schedule: "daily 08:00" });
    await w.app.service.skipNext("local", "a");
    await runUntil(w, "2026-11-27T09:00:00Z");
    expect(runs()).toEqual(["schedule 2026-11-27T08:00:00.000Z"]);
    expect(w.app.service.getTask("local", "a").skipNext).toBe(false);
    expect((await readExecutions(w))[0]).toMatchObject({
      status: "skipped",
      scheduledFor: "2026-11-26T08:00:00.000Z",
    });
  });

  it("stops after maxRuns and after until", async () => {
    const { h, runs } = recorder();
    const w = keep(await makeWorld({ start: "2026-11-26T07:00:00Z", handlers: [h] }));
    await w.app.service.addTask("local", {
      id: "m",
      handler: "rec",
      schedule: "daily 08:00",
      maxRuns: 2,
    });
    await w.app.service.addTask("local", {
      id: "u",
      handler: "rec",
      schedule: "daily 09:00",
      until: "2026-11-27T12:00:00Z",
    });
    await runUntil(w, "2026-11-30T00:00:00Z");
    expect(runs()).toEqual([
      "schedule 2026-11-26T08:00:00.000Z",
      "schedule 2026-11-26T09:00:00.000Z",
      "schedule 2026-11-27T08:00:00.000Z",
      "schedule 2026-11-27T09:00:00.000Z",
    ]);
    expect(w.app.service.nextRun("local", "m")).toBeNull();
    expect(w.app.service.nextRun("local", "u")).toBeNull();
  });
});

describe("catch-up after downtime", () => {
  async function downtime(opts: {
    catchUp?: "once" | "skip";
    downUntil: string;
    schedule?: string;
  }) {
    const { h, runs } = recorder();
    const w = keep(await makeWorld({ start: "2026-11-26T07:50:00Z", handlers: [h] }));
    await w.app.service.addTask("local", {
      id: "a",
      handler: "rec",
      schedule: opts.schedule ?? "daily 08:00",
      catchUp: opts.catchUp,
    });
    await w.app.close();
    await w.clock.advanceTo(opts.downUntil); // nothing runs: the app is stopped
    const after = keep(await w.restart({ handlers: [h] }));
    await after.app.scheduler.idle();
    return { w: after, runs, h };
  }

  it("makes up a run missed while stopped, once, with trigger catch-up", async () => {
    const { w, runs } = await downtime({ downUntil: "2026-11-26T08:20:00Z" });
    expect(runs()).toEqual(["catch-up 2026-11-26T08:00:00.000Z"]);
    expect((await readExecutions(w))[0]).toMatchObject({
      trigger: "catch-up",
      runId: "local/a@2026-11-26T08:00:00.000Z",
    });
    // The next regular run is still tomorrow's.
    expect(w.app.service.nextRun("local", "a")?.toISOString()).toBe("2026-11-27T08:00:00.000Z");
  });

  it("coalesces many missed runs into one, for the latest", async () => {
    const { runs } = await downtime({ downUntil: "2026-11-26T08:50:00Z", schedule: "every 15m" });
    expect(runs()).toEqual(["catch-up 2026-11-26T08:45:00.000Z"]);
  });

  it("does nothing for catchUp: skip, or beyond CATCH_UP_WINDOW_MINUTES", async () => {
    expect((await downtime({ catchUp: "skip", downUntil: "2026-11-26T08:20:00Z" })).runs()).toEqual(
      [],
    );
    expect((await downtime({ downUntil: "2026-11-26T09:30:00Z" })).runs()).toEqual([]);
  });

  it("never repeats a run that already happened before a restart", async () => {
    const { w, runs, h } = await downtime({ downUntil: "2026-11-26T08:20:00Z" });
    expect(runs()).toHaveLength(1);
    await w.app.close();
    await w.clock.advance(60_000);
    const again = keep(await w.restart({ handlers: [h] }));
    await again.app.scheduler.idle();
    expect(runs()).toHaveLength(1);
  });
});
