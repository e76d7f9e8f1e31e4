import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { OutputSink, RunFailure } from "../src/outputs/sink.ts";
import { AlreadyRunningError } from "../src/shared/errors.ts";
import { diskProbe } from "./support/store-sandbox.ts";
import {
  makeWorld,
  readExecutions,
  readOutputs,
  scriptedHandler,
  type World,
} from "./support/world.ts";

const T0 = "2026-11-26T08:00:00.000Z";
let world: World;
afterEach(() => world?.close());

/**
 * Plays out a run's retries: each time attempt `n` is logged and the runner sleeps (its one
 * timer), the clock jumps to the end of that sleep.
 */
async function playRetries<T>(w: World, done: Promise<T>, retries: number): Promise<T> {
  for (let n = 1; n <= retries; n++) {
    await vi.waitFor(async () => {
      expect(await readExecutions(w)).toHaveLength(n);
      expect(w.clock.pending).toBe(1);
    });
    await w.clock.advanceTo(w.clock.nextAt() as number);
  }
  return done;
}

/** Work that never ends by itself: it rejects when `signal` aborts, telling `seen` why. */
function rejectedOnAbort(signal: AbortSignal, seen: (reason: unknown) => void): Promise<never> {
  return new Promise((_, reject) => {
    signal.addEventListener("abort", () => {
      seen(signal.reason);
      reject(signal.reason);
    });
  });
}

describe("runner", () => {
  it("retries with exponential backoff on the injected clock, then records the run", async () => {
    const flaky = scriptedHandler("flaky", [
      () => {
        throw new Error("boom 1");
      },
      () => {
        throw "boom 2"; // not an Error: still a clear message
      },
      () => "third time lucky",
    ]);
    world = await makeWorld({ autoStart: false, start: T0, handlers: [flaky] });
    const { service } = world.app;
    await service.addTask("local", {
      id: "flaky",
      handler: "flaky",
      schedule: "daily 09:00",
      retries: 3,
      retryDelaySeconds: 30,
    });
    const result = await playRetries(world, service.runNow("local", "flaky"), 2);

    expect(result).toMatchObject({ status: "success", attempts: 3, output: "third time lucky" });
    // random() = 0.5 makes the ±20% jitter neutral: 30 s, then 60 s.
    expect(flaky.startedAt).toEqual([0, 30_000, 90_000]);
    expect(flaky.calls.map((c) => c.trigger)).toEqual(["manual", "retry", "retry"]);

    const log = await readExecutions(world);
    expect(log.map((e) => [e.attempt, e.trigger, e.status, e.error])).toEqual([
      [1, "manual", "failure", "boom 1"],
      [2, "retry", "failure", "boom 2"],
      [3, "retry", "success", null],
    ]);
    expect(new Set(log.map((e) => e.runId))).toEqual(new Set([`local/flaky@${T0}`]));
    expect(log.every((e) => e.scheduledFor === T0)).toBe(true);

    const h = service.getTask("local", "flaky").history;
    expect(h).toMatchObject({
      totalRuns: 1,
      successCount: 1,
      failureCount: 0,
      lastStatus: "success",
      lastError: null,
    });
    expect(h.lastDurationMs).toBe(90_000);
  });

  it("gives up after 1 + maxRetries attempts and counts a failure", async () => {
    const broken = scriptedHandler("broken", [
      () => {
        throw new Error("always");
      },
    ]);
    world = await makeWorld({ autoStart: false, start: T0, handlers: [broken] });
    await world.app.service.addTask("local", {
      id: "b",
      handler: "broken",
      schedule: "daily 09:00",
      retries: 2,
      backoff: "fixed",
    });
    const result = await playRetries(world, world.app.service.runNow("local", "b"), 2);
    expect(result).toMatchObject({ status: "failure", attempts: 3, error: "always" });
    expect(broken.startedAt).toEqual([0, 30_000, 60_000]);
    expect(world.app.service.getTask("local", "b").history).toMatchObject({
      totalRuns: 1,
      failureCount: 1,
      lastStatus: "failure",
      lastError: "always",
    });
  });

  it("aborts an attempt that hangs past its timeout and counts it as a timeout", async () => {
    let aborted: unknown = null;
    const hang = scriptedHandler("hang", [
      (ctx) =>
        rejectedOnAbort(ctx.signal, (why) => {
          aborted = why;
        }),
    ]);
    world = await makeWorld({ autoStart: false, start: T0, handlers: [hang] });
    await world.app.service.addTask("local", {
      id: "h",
      handler: "hang",
      schedule: "daily 09:00",
      retries: 0,
      timeoutSeconds: 5,
    });
    const run = world.app.service.runNow("local", "h");
    await vi.waitFor(() => expect(hang.calls).toHaveLength(1));
    await world.clock.advance(5_000);
    const result = await run;
    expect(result).toMatchObject({ status: "timeout", attempts: 1, error: "timed out after 5s" });
    expect(aborted).toBeInstanceOf(Error);
    expect(world.clock.now() - Date.parse(T0)).toBe(5_000);
    expect((await readExecutions(world))[0]).toMatchObject({
      status: "timeout",
      durationMs: 5_000,
    });
  });

  it("saves the output as markdown before any sink posts it", async () => {
    const seen: string[] = [];
    const poster: OutputSink = {
      name: "poster",
      async publish(out) {
        const [saved] = await readOutputs(world.dataDir, out.task.guildId, out.task.id);
        seen.push(saved?.markdown ?? "");
      },
    };
    world = await makeWorld({ autoStart: false, start: T0, sinks: [poster] });
    await world.app.service.addTask("local", {
      id: "t",
      handler: "test",
      schedule: "daily 09:00",
      options: { message: "hello" },
    });
    const result = await world.app.service.runNow("local", "t");
    expect(result.status).toBe("success");
    expect(seen).toHaveLength(1);
    expect(seen[0]).toContain("hello");
    expect(seen[0]).toContain("**t** ran (manual, attempt 1)");
  });

  it("handles 1 MB of markdown, and a handler that returns nothing", async () => {
    const big = `${"x".repeat(100)}\n`;
    const huge = scriptedHandler("huge", [() => big.repeat(10_500)]);
    const quiet = scriptedHandler("quiet", [() => undefined]);
    world = await makeWorld({ autoStart: false, start: T0, handlers: [huge, quiet] });
    await world.app.service.addTask("local", {
      id: "huge",
      handler: "huge",
      schedule: "daily 09:00",
    });
    await world.app.service.addTask("local", {
      id: "quiet",
      handler: "quiet",
      schedule: "daily 09:00",
    });
    expect(await world.app.service.runNow("local", "huge")).toMatchObject({ status: "success" });
    const [saved] = await readOutputs(world.dataDir, "local", "huge");
    expect(saved?.markdown.length).toBeGreaterThan(1_000_000);
    expect(await world.app.service.runNow("local", "quiet")).toMatchObject({
      status: "success",
      output: null,
    });
    expect(await readdir(join(world.dataDir, "outputs", "local"))).toEqual(["huge"]);
  });

  it("a history write that fails is logged once for each run it carried", async () => {
    const disk = diskProbe();
    world = await makeWorld({ autoStart: false, start: T0, fs: disk.fs });
    const { service } = world.app;
    for (const id of ["a", "b", "c"]) {
      await service.addTask("local", { id, handler: "test", schedule: "daily 09:00" });
    }
    disk.failing = true;
    const runs = await Promise.all(["a", "b", "c"].map((id) => service.runNow("local", id)));
    expect(runs.map((r) => r.status)).toEqual(["success", "success", "success"]);
    const unsaved = () =>
      world.lines.filter((l) => String(l.msg).startsWith("could not save the run's history"));
    await vi.waitFor(() => expect(unsaved()).toHaveLength(3));
    expect(unsaved().map((l) => [l.level, l.taskId])).toEqual([
      [50, "a"],
      [50, "b"],
      [50, "c"],
    ]);
    disk.failing = false;
  });

  it("logs one line per finished run: info, or debug for a task that runs seconds apart", async () => {
    world = await makeWorld({ autoStart: false, start: T0, config: { MIN_INTERVAL_SECONDS: 1 } });
    const { service } = world.app;
    await service.addTask("local", { id: "daily", handler: "test", schedule: "daily 09:00" });
    await service.addTask("local", { id: "fast", handler: "test", schedule: "every 5s" });
    await service.runNow("local", "daily");
    await service.runNow("local", "fast");
    const finished = world.lines.filter((l) => /^task \w+: success after/.test(String(l.msg)));
    expect(finished.map((l) => [l.level, l.msg])).toEqual([
      [30, "task daily: success after 1 attempt in 0 ms"],
      [20, "task fast: success after 1 attempt in 0 ms"],
    ]);
    expect(finished[0]).toMatchObject({ taskId: "daily", trigger: "manual" });
  });

  it("a handler's own lines are redacted; the run's lines, written without redaction, keep every field", async () => {
    const h = scriptedHandler("chatty", [
      (ctx) => {
        ctx.log.info({ token: "s3cret-token", url: "https://example.test" }, "fetched");
        return "ok";
      },
    ]);
    world = await makeWorld({ autoStart: false, start: T0, handlers: [h] });
    await world.app.service.addTask("local", {
      id: "chatty",
      handler: "chatty",
      schedule: "daily 09:00",
    });
    await world.app.service.runNow("local", "chatty");
    expect(JSON.stringify(world.lines)).not.toContain("s3cret-token");
    expect(world.lines.find((l) => l.msg === "fetched")).toMatchObject({
      token: "[redacted]",
      taskId: "chatty",
    });
    expect(world.lines.find((l) => String(l.msg).startsWith("task chatty: success"))).toMatchObject(
      { level: 30, guildId: "local", taskId: "chatty", trigger: "manual" },
    );
  });

  it("a sink still publishing when the attempt times out is told through its signal", async () => {
    let reason: unknown = null;
    const slow: OutputSink = {
      name: "slow",
      publish: (_out, attempt) =>
        rejectedOnAbort(attempt.signal, (why) => {
          reason = why;
        }),
    };
    world = await makeWorld({ autoStart: false, start: T0, sinks: [slow] });
    await world.app.service.addTask("local", {
      id: "t",
      handler: "test",
      schedule: "daily 09:00",
      retries: 0,
      timeoutSeconds: 5,
    });
    const run = world.app.service.runNow("local", "t");
    await vi.waitFor(() => expect(world.clock.pending).toBe(1));
    await world.clock.advance(5_000);
    expect(await run).toMatchObject({ status: "timeout", error: "timed out after 5s" });
    expect(reason).toBeInstanceOf(Error);
  });

  it("a sink that refuses fails the attempt, so the run is retried", async () => {
    let refusals = 1;
    const poster: OutputSink = {
      name: "poster",
      async publish() {
        if (refusals-- > 0) throw new Error("Missing Permissions");
      },
    };
    world = await makeWorld({ autoStart: false, start: T0, sinks: [poster] });
    await world.app.service.addTask("local", { id: "t", handler: "test", schedule: "daily 09:00" });
    const result = await playRetries(world, world.app.service.runNow("local", "t"), 1);
    expect(result).toMatchObject({ status: "success", attempts: 2 });
    expect((await readExecutions(world)).map((e) => e.error)).toEqual([
      "Missing Permissions",
      null,
    ]);
    // Both attempts' outputs were kept on disk.
    expect((await readOutputs(world.dataDir, "local", "t")).map((o) => o.attempt)).toEqual([1, 2]);
  });

  it("alerts once per incident and says when the task recovers", async () => {
    let failing = true;
    const h = scriptedHandler("h", [
      () => {
        if (failing) throw new Error("down");
        return "up";
      },
    ]);
    const alerts: RunFailure[] = [];
    const recovered: string[] = [];
    const alerter: OutputSink = {
      name: "alerts",
      alert: async (f) => void alerts.push(f),
      recovered: async (task) => void recovered.push(task.id),
    };
    world = await makeWorld({ autoStart: false, start: T0, handlers: [h], sinks: [alerter] });
    await world.app.service.addTask("local", {
      id: "x",
      handler: "h",
      schedule: "daily 09:00",
      retries: 0,
    });
    await world.app.service.runNow("local", "x");
    await world.app.service.runNow("local", "x");
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ error: "down", attempts: 1 });
    failing = false;
    await world.app.service.runNow("local", "x");
    expect(recovered).toEqual(["x"]);
    failing = true;
    await world.app.service.runNow("local", "x");
    expect(alerts).toHaveLength(2);
  });

  it("refuses a second run of a task while one is in progress", async () => {
    let release: () => void = () => {};
    const slow = scriptedHandler("slow", [
      () => new Promise<string>((r) => (release = () => r("done"))),
    ]);
    world = await makeWorld({ autoStart: false, start: T0, handlers: [slow] });
    await world.app.service.addTask("local", { id: "s", handler: "slow", schedule: "daily 09:00" });
    const first = world.app.service.runNow("local", "s");
    await expect(world.app.service.runNow("local", "s")).rejects.toBeInstanceOf(
      AlreadyRunningError,
    );
    await vi.waitFor(() => expect(slow.calls).toHaveLength(1));
    release();
    expect((await first).status).toBe("success");
    expect(slow.calls).toHaveLength(1);
  });

  it("keeps an entry only for tasks that still exist: one deleted while idle or mid-run leaves none", async () => {
    let release: () => void = () => {};
    const h = scriptedHandler("h", [
      () => "a",
      () => "b",
      () => new Promise<string>((r) => (release = () => r("b again"))),
      () => "c",
    ]);
    world = await makeWorld({ autoStart: false, start: T0, handlers: [h] });
    const { service, runner } = world.app;
    for (const id of ["a", "b", "c"])
      await service.addTask("local", { id, handler: "h", schedule: "daily 09:00" });
    await service.runNow("local", "a");
    await service.runNow("local", "b");
    expect(runner.tasksKept).toBe(2);
    await service.deleteTask("local", "a"); // idle
    expect(runner.tasksKept).toBe(1);
    const running = service.runNow("local", "b");
    await vi.waitFor(() => expect(h.calls).toHaveLength(3));
    await service.deleteTask("local", "b"); // mid-run: its entry goes once the run is over
    expect(runner.isRunning("local", "b")).toBe(true);
    release();
    await running;
    expect(runner.isRunning("local", "b")).toBe(false);
    expect(runner.tasksKept).toBe(0);
    await service.runNow("local", "c");
    expect(runner.tasksKept).toBe(1);
  });

  it("refuses a run its own handler asks for before its first await", async () => {
    let inner: Promise<unknown> = Promise.resolve();
    const eager = scriptedHandler("eager", [
      () => {
        // Called synchronously as the run starts. The refusal is caught here, at once: left
        // unhandled until the outer run ends, Node would report it as an unhandled rejection.
        inner = world.app.service.runNow("local", "e").catch((error: unknown) => error);
      },
    ]);
    world = await makeWorld({ autoStart: false, start: T0, handlers: [eager] });
    await world.app.service.addTask("local", {
      id: "e",
      handler: "eager",
      schedule: "daily 09:00",
    });
    expect((await world.app.service.runNow("local", "e")).status).toBe("success");
    expect(await inner).toBeInstanceOf(AlreadyRunningError);
    expect(eager.calls).toHaveLength(1);
  });

  it("passes lastSuccessAt so a digest can cover the gap, and a dry run counts nothing", async () => {
    const h = scriptedHandler("digest", [
      (ctx) => `since ${ctx.lastSuccessAt?.toISOString() ?? "ever"}`,
    ]);
    world = await makeWorld({ autoStart: false, start: T0, handlers: [h] });
    await world.app.service.addTask("local", {
      id: "d",
      handler: "digest",
      schedule: "daily 09:00",
    });
    expect((await world.app.service.runNow("local", "d")).output).toBe("since ever");
    await world.clock.advance(3_600_000);
    const dry = await world.app.service.runNow("local", "d", { dryRun: true });
    expect(dry.output).toBe(`since ${T0}`);
    expect(world.app.service.getTask("local", "d").history.totalRuns).toBe(1);
    expect(await readExecutions(world)).toHaveLength(1);
    expect(await readOutputs(world.dataDir, "local", "d")).toHaveLength(1);
  });
});
