import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Execution } from "../src/store/execution.ts";
import { type Handler, loadHandlers } from "../src/tasks/handler.ts";
import { makeWorld, type World } from "./support/world.ts";

let handlers: Handler[];
let w: World;
beforeAll(async () => {
  handlers = await loadHandlers(join(__dirname, "..", "handlers"));
});
afterEach(() => w?.close());

const NOW = "2026-11-26T08:00:00.000Z";
const ago = (minutes: number) => new Date(Date.parse(NOW) - minutes * 60_000).toISOString();

/** One attempt line; a retry passes the minutes-ago of its run's scheduled instant. */
function line(
  taskId: string,
  minutesAgo: number,
  status: Execution["status"],
  attempt = 1,
  error: string | null = null,
  scheduledMinutesAgo = minutesAgo,
): Execution {
  const scheduledFor = ago(scheduledMinutesAgo);
  return {
    ts: ago(minutesAgo),
    guildId: "local",
    taskId,
    runId: `${taskId}@${scheduledFor}`,
    scheduledFor,
    attempt,
    trigger: "schedule",
    status,
    durationMs: 5,
    error,
  };
}

async function world() {
  w = await makeWorld({ start: NOW, handlers, autoStart: false });
  return w;
}

describe("handler discovery", () => {
  it("finds every handler file in handlers/, each with a name, description and options schema", () => {
    expect(handlers.map((h) => h.name).sort()).toEqual([
      "daily-briefing",
      "health-check",
      "message",
      "test",
      "weekly-review",
    ]);
    for (const h of handlers) expect(h.description.length).toBeGreaterThan(10);
  });
});

describe("message", () => {
  it("posts its message, and refuses a task without one", async () => {
    const { service } = (await world()).app;
    await expect(
      service.addTask("local", { id: "m", handler: "message", schedule: "daily 09:00" }),
    ).rejects.toThrow(
      /^options\.message: required by the message handler \(set it with --message in the CLI, message: in \/task\): the text to post/,
    );
    await service.addTask("local", {
      id: "m",
      handler: "message",
      schedule: "daily 09:00",
      options: { message: "Stand-up!" },
    });
    expect((await service.runNow("local", "m")).output).toBe("Stand-up!");
  });
});

describe("daily-briefing", () => {
  it("lists active goals, reminders due or overdue, and the last day's runs; saved by date", async () => {
    const { service, items, executionLog } = (await world()).app;
    await items.addItem("local", "goal", "Ship v1");
    await items.completeItem(
      "local",
      "goal",
      (await items.addItem("local", "goal", "Old goal")).id,
    );
    await items.addItem("local", "goal", "Write the docs");
    await items.addItem("local", "reminder", "Pay rent", "2026-11-20");
    await items.addItem("local", "reminder", "Renew domain", "2026-11-26");
    await items.addItem("local", "reminder", "Call mum", "2026-11-30");
    await items.addItem("local", "reminder", "Far away", "2027-03-01");
    await items.addItem("local", "reminder", "Whenever");
    for (const e of [
      line("backup", 60 * 30, "failure", 1, "too old to show"), // 30 h ago: outside the day
      line("backup", 120, "failure", 1, "disk full"),
      line("backup", 119, "failure", 2, "disk full", 120),
      line("health", 60, "success"),
      line("health", 30, "success"),
    ]) {
      await executionLog.append(e);
    }
    await service.addTask("local", {
      id: "daily-briefing",
      handler: "daily-briefing",
      schedule: "daily 08:00",
    });
    await service.addTask("local", { id: "health", handler: "test", schedule: "daily 21:00" });
    const result = await service.runNow("local", "daily-briefing");
    expect(result.status).toBe("success");
    const md = result.output as string;
    expect(md).toContain("# ☀️ Daily briefing — Thursday, 26 November 2026");
    expect(md).toContain("- Ship v1 `#1`");
    expect(md).toContain("- Write the docs `#3`");
    expect(md).not.toContain("Old goal");
    expect(md).toContain("**Overdue by 6 days** (due 2026-11-20): Pay rent `#1`");
    expect(md).toContain("**Today**: Renew domain `#2`");
    expect(md).toContain("- 2026-11-30 (in 4 days): Call mum `#3`");
    expect(md).not.toContain("Far away");
    expect(md).toContain("- _…and 1 more reminder later (the next due 2027-03-01)_");
    expect(md).toContain("## 🗓️ Still to run today\n- 21:00 `health`\n");
    expect(md).toContain("- Whenever `#5`");
    expect(md).toContain("## 📊 Last 24 hours");
    expect(md).toContain("3 runs across 2 tasks — **1 failed**");
    // Failing first; a task that no longer exists is marked.
    expect(md).toContain(
      "- `backup`: 1 run, **1 failed** — disk full _(task deleted since)_\n- `health`: 2 runs, all succeeded",
    );
    expect(md).not.toContain("too old to show");

    const saved = await readFile(join(w.dataDir, "briefings", "local", "2026-11-26.md"), "utf8");
    expect(saved.trim()).toBe(md.trim());
  });

  it("covers the gap back to the last briefing when one was missed", async () => {
    const { service, executionLog } = (await world()).app;
    await service.addTask("local", { id: "b", handler: "daily-briefing", schedule: "daily 08:00" });
    await service.runNow("local", "b"); // a first briefing at NOW
    await w.clock.advance(3 * 86_400_000); // three days later
    await executionLog.append({ ...line("x", 0, "success"), ts: ago(-60 * 24) }); // two days after NOW
    const md = (await service.runNow("local", "b")).output as string;
    expect(md).toContain("## 📊 Activity (last 72 h)");
    expect(md).toContain("`x`: 1 run, succeeded");
    expect(md).toContain("_No active goals");
    expect(md).toContain("_Nothing due");
  });

  it("after a gap of months covers the last week, and says where it starts", async () => {
    const { service, executionLog } = (await world()).app;
    await service.addTask("local", { id: "b", handler: "daily-briefing", schedule: "daily 08:00" });
    await service.runNow("local", "b"); // a first briefing at NOW
    await executionLog.append({ ...line("early", 0, "success"), ts: ago(-60) }); // an hour later
    await w.clock.advance(180 * 86_400_000); // six months later
    await executionLog.append({ ...line("late", 0, "success"), ts: ago(-60 * 24 * 178) });
    const md = (await service.runNow("local", "b")).output as string;
    expect(md).toMatch(/## 📊 Activity \(last [67] days\)/);
    expect(md).toMatch(/_\(runs before \w+day, \d+ \w+ 2027 \d\d:\d\d not shown\)_/);
    expect(md).toContain("`late`: 1 run, succeeded");
    expect(md).not.toContain("early");
  });
});

describe("health-check", () => {
  it("reports uptime, connection, memory, counts and failing tasks", async () => {
    const { service } = (await world()).app;
    await service.addTask("local", { id: "hc", handler: "health-check", schedule: "every 1h" });
    await service.addTask("local", {
      id: "broken",
      handler: "message",
      schedule: "daily 09:00",
      options: { message: "x" },
    });
    await w.app.store.update(() => {
      const t = w.app.store.task("local", "broken");
      if (t) {
        const failed = {
          lastStatus: "failure",
          lastError: "Missing Access",
          lastRunAt: NOW,
        } as const;
        w.app.store.putTask({ ...t, history: { ...t.history, ...failed } });
      }
    });
    await w.clock.advance(3 * 3_600_000 + 5 * 60_000);
    const md = (await service.runNow("local", "hc")).output as string;
    expect(md).toContain("- Uptime: 3h 5m");
    expect(md).toContain("- Discord: not connected (headless)");
    expect(md).toMatch(/- Memory: RSS \d+ MB, heap \d+ MB of \d+ MB/);
    expect(md).toContain("- Tasks: 2 (2 enabled, 1 failing)");
    expect(md).toContain("- `broken`: Missing Access (last run 2026-11-26 08:00 (UTC))");
  });

  it("posts nothing when all is well and onlyWhenFailing is set", async () => {
    const { service } = (await world()).app;
    await service.addTask("local", {
      id: "hc",
      handler: "health-check",
      schedule: "every 1h",
      options: { onlyWhenFailing: true },
    });
    const result = await service.runNow("local", "hc");
    expect(result).toMatchObject({ status: "success", output: null });
    expect(await readdir(join(w.dataDir, "outputs")).catch(() => [])).toEqual([]);
  });
});

describe("weekly-review", () => {
  it("sums the week's runs per task with success rates, and the goals done", async () => {
    const { service, items, executionLog } = (await world()).app;
    await executionLog.append(line("backup", 9 * 1440, "failure", 1, "last month")); // before the week
    for (let day = 6; day >= 0; day--)
      await executionLog.append(line("daily", day * 1440 + 10, "success"));
    await executionLog.append(line("backup", 100, "success"));
    await executionLog.append(line("backup", 50, "failure", 1, "disk full"));
    await items.completeItem("local", "goal", (await items.addItem("local", "goal", "Ship v1")).id);
    await items.addItem("local", "goal", "Still going");
    await service.addTask("local", {
      id: "wr",
      handler: "weekly-review",
      schedule: "weekly fri 17:00",
    });
    const md = (await service.runNow("local", "wr")).output as string;
    expect(md).toContain(
      "# 📅 Weekly review — Thursday, 19 November 2026 to Thursday, 26 November 2026",
    );
    expect(md).toContain("9 runs, 89% successful.");
    expect(md).toContain("- `daily`: 7 runs, all succeeded (100%)");
    expect(md).toContain("- `backup`: 2 runs, 1 succeeded, **1 failed** — disk full (50%)");
    expect(md).toContain("## 🎯 Goals done (1)\n- ✅ Ship v1");
    expect(md).toContain("Still open: Still going `#2`");
    expect(md).not.toContain("last month");
  });
});
