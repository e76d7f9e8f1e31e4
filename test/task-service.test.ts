import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConflictError, NotFoundError, ValidationError } from "../src/shared/errors.ts";
import { readStored } from "../src/store/store.ts";
import { makeWorld, type World } from "./support/world.ts";

let w: World;
beforeEach(async () => {
  w = await makeWorld({
    start: "2026-11-26T12:00:00Z",
    config: { DEFAULT_TIMEZONE: "Europe/Paris" },
  });
});
afterEach(() => w.close());

const refusal = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => null,
    (e) => e,
  );
  expect(err, "expected the call to be refused").not.toBeNull();
  return err as Error;
};

describe("task service: tasks", () => {
  it("adds a task with defaults filled in, stored and scheduled", async () => {
    const task = await w.app.service.addTask(
      "local",
      { id: "morning", handler: "test", schedule: "daily 08:00", options: { message: "hi" } },
      "123456789012345678",
    );
    expect(task).toMatchObject({
      id: "morning",
      name: "morning",
      schedule: { type: "daily", time: "08:00" },
      timezone: "Europe/Paris",
      retry: { maxRetries: 2, delaySeconds: 30, backoff: "exponential" },
      timeoutSeconds: 120,
      catchUp: "once",
      enabled: true,
      ownerId: "123456789012345678",
      history: { totalRuns: 0, lastStatus: null },
    });
    expect(w.app.store.data.tasks).toHaveLength(1);
    expect(w.app.service.nextRun("local", "morning")?.toISOString()).toBe(
      "2026-11-27T07:00:00.000Z",
    );
    expect(w.app.service.upcomingRuns("local", "morning").map((r) => r.at.toISOString())).toEqual([
      "2026-11-27T07:00:00.000Z",
      "2026-11-28T07:00:00.000Z",
      "2026-11-29T07:00:00.000Z",
    ]);
  });

  it("takes 1,000 concurrent adds, each durable, none lost, duplicates refused", async () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `task-${i % 990}`);
    const results = await Promise.allSettled(
      ids.map((id) =>
        w.app.service.addTask("local", { id, handler: "test", schedule: "every 1h" }),
      ),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(990);
    const refused = results.filter((r) => r.status === "rejected");
    expect(refused).toHaveLength(10);
    expect(refused.every((r) => (r as PromiseRejectedResult).reason instanceof ConflictError)).toBe(
      true,
    );
    const disk = await readStored(w.dataDir);
    expect(new Set(disk.tasks.map((t: { id: string }) => t.id)).size).toBe(990);
    expect(w.app.service.nextRun("local", "task-989")?.toISOString()).toBe(
      "2026-11-26T13:00:00.000Z",
    );
  });

  it("refuses a duplicate id and stores nothing", async () => {
    await w.app.service.addTask("local", { id: "a", handler: "test", schedule: "every 1h" });
    const err = await refusal(
      w.app.service.addTask("local", { id: "a", handler: "test", schedule: "daily 09:00" }),
    );
    expect(err).toBeInstanceOf(ConflictError);
    expect(err.message).toMatch(/"a" already exists/);
    expect(w.app.service.getTask("local", "a").schedule.type).toBe("interval");
    expect(w.app.store.data.tasks).toHaveLength(1);
  });

  it.each([
    [
      { id: "Bad Id", handler: "test", schedule: "daily 09:00" },
      "id",
      /lowercase letters.*e\.g\. morning-news/,
    ],
    [{ id: "../etc", handler: "test", schedule: "daily 09:00" }, "id", /lowercase letters/],
    [
      { id: "a", handler: "nope", schedule: "daily 09:00" },
      "handler",
      /no handler "nope"; available: test/,
    ],
    [{ id: "a", handler: "test", schedule: "daily 25:00" }, "schedule", /not a time of day/],
    [
      { id: "a", handler: "test", schedule: "weekly funday 10:00" },
      "schedule",
      /"funday" is not a day/,
    ],
    [{ id: "a", handler: "test", schedule: "every 0m" }, "schedule", /at least 1/],
    [{ id: "a", handler: "test", schedule: "every 30s" }, "schedule", /minimum of 60s/],
    [{ id: "a", handler: "test", schedule: "once 2026-11-25 09:00" }, "schedule", /is in the past/],
    [{ id: "a", handler: "test", schedule: "cron 0 9 * * 8" }, "schedule", /not a valid cron/],
    [
      { id: "a", handler: "test", schedule: "daily 09:00", timezone: "Mars/Olympus" },
      "timezone",
      /not an IANA time zone.*Europe\/Paris/,
    ],
    [{ id: "a", handler: "test", schedule: "daily 09:00", retries: 11 }, "retries", /0 to 10/],
    [
      { id: "a", handler: "test", schedule: "daily 09:00", options: { message: 5 } },
      "options.message",
      /string/,
    ],
    [
      { id: "a", handler: "test", schedule: "daily 09:00", colour: "red" },
      "input",
      /unknown field/,
    ],
  ])("refuses %j, naming the field", async (input, field, message) => {
    const err = await refusal(w.app.service.addTask("local", input as never));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe(field);
    expect(err.message).toMatch(message);
    expect(w.app.store.data.tasks).toEqual([]);
  });

  it("edits only what the patch names, validated as a whole", async () => {
    await w.app.service.addTask("local", {
      id: "a",
      handler: "test",
      schedule: "daily 09:00",
      name: "A",
    });
    const edited = await w.app.service.editTask("local", "a", {
      schedule: "weekly mon 10:00",
      retries: 0,
    });
    expect(edited).toMatchObject({
      name: "A",
      schedule: { type: "weekly", days: ["mon"] },
      retry: { maxRetries: 0 },
    });
    const err = await refusal(w.app.service.editTask("local", "a", { timezone: "Nowhere/Land" }));
    expect(err).toBeInstanceOf(ValidationError);
    expect(w.app.service.getTask("local", "a").timezone).toBe("Europe/Paris");
    await expect(w.app.service.editTask("local", "zzz", { name: "x" })).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it("lists all or only enabled tasks, enables, disables and deletes", async () => {
    await w.app.service.addTask("local", { id: "a", handler: "test", schedule: "daily 09:00" });
    await w.app.service.addTask("local", {
      id: "b",
      handler: "test",
      schedule: "daily 10:00",
      enabled: false,
    });
    expect(w.app.service.listTasks("local").map((t) => t.id)).toEqual(["a", "b"]);
    expect(w.app.service.listTasks("local", { enabled: true }).map((t) => t.id)).toEqual(["a"]);
    await w.app.service.setEnabled("local", "b", true);
    await w.app.service.setEnabled("local", "a", false);
    expect(w.app.service.listTasks("local", { enabled: true }).map((t) => t.id)).toEqual(["b"]);
    await w.app.service.deleteTask("local", "a");
    expect(() => w.app.service.getTask("local", "a")).toThrow(NotFoundError);
    const reopened = await w.restart();
    expect(reopened.app.service.listTasks("local").map((t) => [t.id, t.enabled])).toEqual([
      ["b", true],
    ]);
    w = Object.assign(reopened, { close: w.close });
  });

  it("reports history: success rate, p95 duration and recent attempts", async () => {
    await w.app.service.addTask("local", { id: "a", handler: "test", schedule: "daily 09:00" });
    await w.app.service.runNow("local", "a");
    await w.app.service.runNow("local", "a");
    const report = await w.app.service.history("local", "a", 1);
    expect(report.successRate).toBe(1);
    expect(report.recent).toHaveLength(1);
    expect(report.recent[0]).toMatchObject({ taskId: "a", trigger: "manual", status: "success" });
    expect(report.p95DurationMs).toBe(0);
  });
});

describe("task service: goals and reminders", () => {
  it("adds, lists, completes and removes goals with short numeric ids", async () => {
    const s = w.app.items;
    const g1 = await s.addItem("local", "goal", "  Ship v1  ");
    const g2 = await s.addItem("local", "goal", "Write docs");
    expect([g1.id, g2.id, g1.text]).toEqual([1, 2, "Ship v1"]);
    await s.completeItem("local", "goal", 1);
    expect(s.listItems("local", "goal").map((g) => g.id)).toEqual([2]);
    expect(s.listItems("local", "goal", { includeDone: true }).map((g) => g.id)).toEqual([1, 2]);
    await s.removeItem("local", "goal", 2);
    expect((await s.addItem("local", "goal", "Third")).id).toBe(3);
    await expect(s.completeItem("local", "goal", 99)).rejects.toThrow(/no goal with id "99"/);
    await expect(s.addItem("local", "goal", "   ")).rejects.toThrow(/text: must not be empty/);
  });

  it("keeps reminders sorted by due date and checks the date", async () => {
    const s = w.app.items;
    await s.addItem("local", "reminder", "someday");
    await s.addItem("local", "reminder", "renew domain", "2026-12-24");
    await s.addItem("local", "reminder", "pay rent", "2026-12-01");
    expect(s.listItems("local", "reminder").map((r) => r.text)).toEqual([
      "pay rent",
      "renew domain",
      "someday",
    ]);
    await expect(s.addItem("local", "reminder", "bad", "2026-02-30")).rejects.toThrow(
      /due: "2026-02-30" is not a date; use YYYY-MM-DD/,
    );
    await expect(s.addItem("local", "reminder", "bad", "tomorrow")).rejects.toBeInstanceOf(
      ValidationError,
    );
    await s.completeItem("local", "reminder", 1);
    await s.removeItem("local", "reminder", 2);
    expect(s.listItems("local", "reminder").map((r) => r.text)).toEqual(["pay rent"]);
    expect(w.app.store.data.reminders).toHaveLength(2);
  });
});
