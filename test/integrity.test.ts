import { appendFile, chmod, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { CorruptStoreError } from "../src/shared/errors.ts";
import type { Execution } from "../src/store/execution.ts";
import type { ExecutionRecords } from "../src/store/execution-records.ts";
import { rebuildHistory } from "../src/store/rebuild-history.ts";
import { openStore, readStored } from "../src/store/store.ts";
import { type Task, TaskSchema } from "../src/tasks/model.ts";
import { sleep } from "../src/time/clock.ts";
import { Crash, CrashFs } from "./support/crash-fs.ts";
import { cli } from "./support/process.ts";
import {
  closedAfterEach,
  makeWorld,
  readExecutions,
  runUntil,
  scriptedHandler,
  tempDir,
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
    const day = join(w.dataDir, "logs", "executions", "2026-11-28.jsonl");
    await appendFile(day, `${JSON.stringify(bad)}\n{"torn`);
    await w.app.executionLog.since(0);
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

describe("a crash right after a run (kill -9 before its counters reached db.json)", () => {
  it("rebuilds the counters from the execution log at start: a maxRuns task does not run again", async () => {
    const h = scriptedHandler("rec", [() => "ok"]);
    const w = keep(await makeWorld({ start: "2026-11-28T08:00:30Z", handlers: [h] }));
    await w.app.service.addTask("local", {
      id: "once",
      handler: "rec",
      schedule: "every 1m",
      maxRuns: 1,
    });
    await w.app.service.addTask("local", { id: "other", handler: "rec", schedule: "daily 06:00" });
    await w.app.service.runNow("local", "other");
    await runUntil(w, "2026-11-28T08:01:30Z");
    expect(h.calls.map((c) => c.task.id)).toEqual(["other", "once"]);
    await w.app.close();
    // The state a kill -9 leaves when the counters' write was still to come: db.json without
    // the run, the log with it.
    const dbFile = join(w.dataDir, "db.json");
    const db = JSON.parse(await readFile(dbFile, "utf8"));
    const once = db.tasks.find((t: { id: string }) => t.id === "once");
    once.history = { totalRuns: 0, successCount: 0, failureCount: 0 };
    await writeFile(dbFile, JSON.stringify(db));
    await rm(join(w.dataDir, "db.json.checked"));

    const again = keep(await w.restart());
    const history = again.app.service.getTask("local", "once").history;
    expect(history).toMatchObject({ totalRuns: 1, successCount: 1, lastStatus: "success" });
    expect(history.lastRunId).toBe("local/once@2026-11-28T08:01:00.000Z");
    expect(again.app.service.getTask("local", "other").history.totalRuns).toBe(1); // not twice
    expect(again.app.service.nextRun("local", "once")).toBeNull();
    h.calls.length = 0;
    await runUntil(again, "2026-11-28T08:10:00Z");
    expect(h.calls).toEqual([]);
    // Counted once: a second restart adds nothing.
    const third = keep(await again.restart());
    expect(third.app.service.getTask("local", "once").history.totalRuns).toBe(1);
  });
});

describe("rebuilding the counters beside other processes (PostgreSQL)", () => {
  it("leaves out runs too recent to be settled: another process is still writing their counters", async () => {
    const w = keep(await makeWorld({ start: "2026-11-28T08:10:00Z", autoStart: false }));
    await w.app.service.addTask("local", { id: "x", handler: "test", schedule: "every 1m" });
    const line = (minute: string): Execution => ({
      ts: `2026-11-28T08:${minute}:01.000Z`,
      guildId: "local",
      taskId: "x",
      runId: `local/x@2026-11-28T08:${minute}:00.000Z`,
      scheduledFor: `2026-11-28T08:${minute}:00.000Z`,
      attempt: 1,
      trigger: "schedule",
      status: "success",
      durationMs: 5,
      error: null,
    });
    // Newest first, as readBackwards walks: a run of 08:09 (another process's, a moment ago)
    // and one of 08:00 whose counters were lost.
    const log = {
      readBackwards: async (visit: (e: Execution) => boolean) => {
        for (const e of [line("09"), line("00")]) if (!visit(e)) return;
      },
    } as unknown as ExecutionRecords;
    const settled = Date.parse("2026-11-28T08:09:00Z");
    expect(await rebuildHistory(w.app.store, log, settled)).toBe(1);
    expect(w.app.service.getTask("local", "x").history).toMatchObject({
      totalRuns: 1,
      lastRunId: "local/x@2026-11-28T08:00:00.000Z",
    });
  });
});

describe("file modes", () => {
  it("every folder under DATA_DIR is 0700 and every file 0600, older ones tightened at start", async () => {
    const { default: briefing } = await import("../handlers/daily-briefing.ts");
    const { default: test } = await import("../handlers/test.ts");
    const w = keep(await makeWorld({ start: "2026-11-28T06:00:00Z", handlers: [briefing, test] }));
    const { service } = w.app;
    await service.addTask("local", { id: "t", handler: "test", schedule: "daily 09:00" });
    await service.addTask("local", { id: "b", handler: "daily-briefing", schedule: "daily 08:00" });
    await service.runNow("local", "t");
    await service.runNow("local", "b");
    // As an earlier version left them: the umask's modes.
    await chmod(w.dataDir, 0o755);
    await chmod(join(w.dataDir, "logs"), 0o755);
    await chmod(join(w.dataDir, "logs", "executions", "2026-11-28.jsonl"), 0o644);
    const again = keep(await w.restart());
    await again.app.service.runNow("local", "t");
    const modes: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        const mode = (await stat(path)).mode & 0o777;
        modes.push(`${entry.isDirectory() ? "dir" : "file"} ${mode.toString(8)}`);
        if (entry.isDirectory()) await walk(path);
      }
    };
    await walk(w.dataDir);
    expect((await stat(w.dataDir)).mode & 0o777).toBe(0o700);
    expect(new Set(modes)).toEqual(new Set(["dir 700", "file 600"]));
    expect(modes.length).toBeGreaterThan(8); // db, journal, seal, backups, log, outputs, briefing
  });
});

describe("a handler that ignores its abort signal after a timeout", () => {
  it("blocks the task's next attempt until it settles: two runs of one task never overlap", async () => {
    const h = scriptedHandler("sticky", [
      (ctx) => sleep(ctx.clock, 10_000).then(() => "late"), // no signal: it goes on
      () => "ok",
    ]);
    const w = keep(await makeWorld({ start: "2026-11-28T06:00:00Z", handlers: [h] }));
    await w.app.service.addTask("local", {
      id: "s",
      handler: "sticky",
      schedule: "daily 09:00",
      timeoutSeconds: 5,
      retries: 1,
      retryDelaySeconds: 1,
      backoff: "fixed",
    });
    let result: Awaited<ReturnType<typeof w.app.service.runNow>> | undefined;
    const run = w.app.service.runNow("local", "s").then((r) => {
      result = r;
    });
    await w.clock.advanceTo("2026-11-28T06:00:05Z"); // the attempt times out
    await vi.waitFor(async () => expect(await readExecutions(w)).toHaveLength(1));
    // The handler goes on until 10 s: no retry may start meanwhile (it would at 6 s).
    for (let s = 6; s <= 9; s++) {
      await w.clock.advanceTo(`2026-11-28T06:00:0${s}Z`);
      expect(h.calls).toHaveLength(1);
    }
    // Then time moves on until the run is over (its log writes are real I/O).
    for (let i = 0; i < 120 && !result; i++) await w.clock.advance(1_000);
    await run;
    expect(result).toMatchObject({ status: "success", attempts: 2 });
    // Timed out at 5 s, but it ran until 10 s: the retry starts after that, not at 6 s.
    expect(h.startedAt[1]).toBeGreaterThanOrEqual(10_000);
    expect((await readExecutions(w)).map((e) => e.status)).toEqual(["timeout", "success"]);
  });
});

describe("the data folder's lock", () => {
  it("is exclusive when six CLI commands open a stopped folder at once: each waits its turn, none is lost", async () => {
    const dir = await tempDir();
    const env = { DATA_DIR: join(dir.path, "data") };
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => cli(dir.path, env, "goals", "add", `goal ${i}`)),
    );
    expect(results.map((r) => [r.code, r.stderr])).toEqual(
      Array.from({ length: 6 }, () => [0, ""]),
    );
    const stored = await readStored(join(dir.path, "data"));
    expect(stored.goals.map((g: { text: string }) => g.text).sort()).toEqual(
      Array.from({ length: 6 }, (_, i) => `goal ${i}`),
    );
    await dir.remove();
  }, 60_000);

  it("a CLI command refused by a busy CLI command names it, not a running bot", async () => {
    const dir = await tempDir();
    const data = join(dir.path, "data");
    await mkdir(data, { recursive: true });
    // A live process other than us holds it as a CLI command: our parent.
    await writeFile(join(data, "mission-control.lock"), `${process.ppid} cli\n`);
    const r = await cli(dir.path, { DATA_DIR: data }, "goals", "list");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`another Mission Control command \\(pid ${process.ppid}\\) is still using`),
    );
    await dir.remove();
  }, 30_000);
});

describe("db.json.checked (the seal)", () => {
  it("seals only a state that passed validation: an invalid one is checked, and refused, at the next start", async () => {
    const dir = await tempDir();
    const store = await openStore({ dataDir: dir.path });
    await store.update((db) => {
      db.goals.push({
        guildId: "local",
        id: 1,
        text: "",
        createdAt: "2026-11-28T06:00:00.000Z",
        doneAt: null,
      }); // an empty text: what no service would store
    });
    await store.close();
    const err = await openStore({ dataDir: dir.path }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptStoreError);
    expect(String(err)).toMatch(/expected shape \(goals\.0\.text/);
    await dir.remove();
  });
});

describe("restoring a backup", () => {
  it("a journal written on a newer db.json is refused, not replayed onto the restored one", async () => {
    const dir = await tempDir();
    const store = await openStore({ dataDir: dir.path });
    const goal = (id: number, text: string) => ({
      guildId: "local",
      id,
      text,
      createdAt: "2026-11-28T06:00:00.000Z",
      doneAt: null,
    });
    await store.update((db) => db.goals.push(goal(1, "kept")));
    await store.close(); // db.json holds goal 1; the next open backs it up
    const second = await openStore({ dataDir: dir.path });
    await second.update((db) => db.goals.push(goal(3, "later")));
    await second.close(); // db.json rewritten: a newer one than that backup
    const third = await openStore({ dataDir: dir.path });
    await third.update((db) => {
      db.goals = [];
    });
    await third.update((db) => db.goals.push(goal(2, "newer")));
    // A crash: the journal holds the deletion and goal 2, written on the newest db.json.
    const [backup] = (await readdir(join(dir.path, "backups"))).sort(); // the older one
    // The operator restores the backup over db.json, as the refusal for a damaged one says.
    await writeFile(
      join(dir.path, "db.json"),
      await readFile(join(dir.path, "backups", backup as string)),
    );
    await rm(join(dir.path, "db.json.checked"));
    const err = await openStore({ dataDir: dir.path }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptStoreError);
    expect(String(err)).toMatch(/db\.journal cannot be read: .*written on another db\.json/);
    expect(String(err)).toMatch(/move it away to start from db\.json alone/);
    await dir.remove();
  });

  it("a journal without its db.json is refused and kept, not emptied", async () => {
    const dir = await tempDir();
    const store = await openStore({ dataDir: dir.path });
    await store.update((db) =>
      db.goals.push({
        guildId: "local",
        id: 1,
        text: "only in the journal",
        createdAt: "2026-11-28T06:00:00.000Z",
        doneAt: null,
      }),
    );
    // A crash, then db.json is lost.
    await rm(join(dir.path, "db.json"));
    const journal = await readFile(join(dir.path, "db.journal"), "utf8");
    const err = await openStore({ dataDir: dir.path }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptStoreError);
    expect(String(err)).toMatch(
      /db\.json cannot be read: it is missing, but .*db\.journal holds changes/,
    );
    expect(await readFile(join(dir.path, "db.journal"), "utf8")).toBe(journal);
    await dir.remove();
  });
});

describe("a crash at every point of a burst of writes (a disk that forgets what was not fsynced)", () => {
  const task = (id: string, name: string, runs = 0) =>
    TaskSchema.parse({
      guildId: "local",
      id,
      name,
      handler: "test",
      schedule: { type: "daily", time: "09:00" },
      timezone: "UTC",
      createdAt: "2026-11-28T06:00:00.000Z",
      updatedAt: "2026-11-28T06:00:00.000Z",
      history: { totalRuns: runs },
    });
  type Model = { tasks: Record<string, [string, number]>; goals: number[] };
  const view = (db: { tasks: Task[]; goals: { id: number }[] }): string =>
    JSON.stringify({
      tasks: Object.fromEntries(db.tasks.map((t) => [t.id, [t.name, t.history.totalRuns]]).sort()),
      goals: db.goals.map((g) => g.id).sort((a, b) => a - b),
    });
  const modelView = (m: Model) =>
    JSON.stringify({
      tasks: Object.fromEntries(Object.entries(m.tasks).sort()),
      goals: [...m.goals].sort((a, b) => a - b),
    });

  /** Adds, edits, deletes, goals and history writes; what was acknowledged, and what was in flight. */
  async function burst(disk: CrashFs, dataDir: string) {
    const model: Model = { tasks: {}, goals: [] };
    let acked = modelView(model);
    let pending = acked;
    try {
      const store = await openStore({ dataDir, fs: disk.fs, compactAt: 1_500 });
      for (let i = 0; i < 25; i++) {
        const next: Model = structuredClone(model);
        const ids = Object.keys(model.tasks);
        let op: () => void;
        if (i % 5 === 0 || !ids.length) {
          next.tasks[`t${i}`] = [`task ${i}`, 0];
          op = () => store.putTask(task(`t${i}`, `task ${i}`));
        } else if (i % 5 === 1) {
          const id = ids[0] as string;
          next.tasks[id] = [`edited ${i}`, model.tasks[id]?.[1] ?? 0];
          op = () => store.putTask(task(id, `edited ${i}`, model.tasks[id]?.[1] ?? 0));
        } else if (i % 5 === 2) {
          const id = ids[ids.length - 1] as string;
          delete next.tasks[id];
          op = () => store.removeTask("local", id);
        } else if (i % 5 === 3) {
          next.goals.push(i);
          op = () => {
            store.data.goals.push({
              guildId: "local",
              id: i,
              text: `goal ${i}`,
              createdAt: "2026-11-28T06:00:00.000Z",
              doneAt: null,
            });
          };
        } else {
          const id = ids[0] as string;
          const [name, runs] = model.tasks[id] ?? ["", 0];
          next.tasks[id] = [name, runs + 1];
          op = () => store.putTask(task(id, name, runs + 1)); // a run's history counters
        }
        pending = modelView(next);
        await store.update(op);
        Object.assign(model, next);
        acked = pending;
      }
    } catch (err) {
      if (!(err instanceof Crash) && !(err as Error).message.includes("crash at operation")) {
        throw err;
      }
    }
    return { acked, pending };
  }

  it("every acknowledged change survives a crash at any fs operation, journal appends and db.json rewrites alike", async () => {
    const dir = await tempDir();
    const clean = new CrashFs();
    await burst(clean, dir.path);
    const total = clean.ops;
    expect(total).toBeGreaterThan(100);
    let checked = 0;
    for (let at = 1; at <= total; at++) {
      const disk = new CrashFs();
      disk.crashAt = at;
      const { acked, pending } = await burst(disk, dir.path);
      const after = disk.afterCrash();
      const store = await openStore({ dataDir: dir.path, fs: after.fs });
      const found = view(store.data);
      expect([acked, pending], `after a crash at fs operation ${at}`).toContain(found);
      checked++;
    }
    expect(checked).toBe(total);
    await dir.remove();
  }, 120_000);
});
