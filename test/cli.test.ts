import { spawn } from "node:child_process";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readStored } from "../src/store/store.ts";
import { cli, ROOT } from "./support/process.ts";
import { readLogLines, tempDir } from "./support/world.ts";

let dir: Awaited<ReturnType<typeof tempDir>>;
let env: Record<string, string>;
const run = (...args: string[]) => cli(dir.path, env, ...args);
const db = async () => readStored(join(dir.path, "data"));

beforeAll(async () => {
  dir = await tempDir();
  env = {
    DATA_DIR: join(dir.path, "data"),
    DEFAULT_TIMEZONE: "Europe/Paris",
    MIN_INTERVAL_SECONDS: "30",
  };
});
afterAll(() => dir.remove());

// Each test runs the CLI as a process many times over (about a second each through tsx): a
// loaded 2-core machine needs more than the default 20 s for the longest.
describe("the CLI, as a process", { timeout: 60_000 }, () => {
  it("adds, shows, edits, runs, lists and deletes a task", async () => {
    const added = await run(
      "tasks",
      "add",
      "news",
      "--handler",
      "message",
      "--schedule",
      "every Monday and Friday at 9am",
      "--message",
      "Hello team",
    );
    expect(added.stderr).toBe("");
    expect(added.code).toBe(0);
    // What was understood, in words, with the next runs.
    expect(added.stdout).toMatch(
      /^Added news: message, every Monday and Friday at 09:00 \(Europe\/Paris\)\. Next runs:\n {2}\d{4}-\d\d-\d\d 09:00 \(Europe\/Paris\)\n/,
    );
    expect((await db()).tasks[0]?.schedule).toEqual({
      type: "weekly",
      days: ["mon", "fri"],
      time: "09:00",
    });
    const later = await run(
      "tasks",
      "add",
      "later",
      "--handler",
      "message",
      "--schedule",
      "tomorrow at 10:00",
      "--message",
      "x",
    );
    expect(later.stdout).toMatch(
      /^Added later: message, once on \d{4}-\d\d-\d\d at 10:00 \(Europe\/Paris\)/,
    );
    expect((await run("tasks", "delete", "later")).code).toBe(0);

    const edited = await run(
      "tasks",
      "edit",
      "news",
      "--schedule",
      "every 45s",
      "--retries",
      "0",
      "--name",
      "News",
    );
    expect(edited.code).toBe(0);
    expect(edited.stdout).toContain("Updated news: every 45 seconds (Europe/Paris)");
    const stored = (await db()).tasks[0];
    expect(stored).toMatchObject({
      id: "news",
      name: "News",
      schedule: { type: "interval", every: 45, unit: "seconds" },
      retry: { maxRetries: 0 },
      options: { message: "Hello team" },
    });

    const shown = await run("tasks", "show", "news");
    expect(shown.stdout).toContain("news — News");
    expect(shown.stdout).toContain("schedule:  every 45 seconds (Europe/Paris) — `every 45s`");

    const ran = await run("run", "news");
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(/^Hello team\n\nnews: success after 1 attempt in \d+ ms\n$/);

    const listed = await run("tasks", "list");
    expect(listed.stdout.split("\n")[0]).toMatch(/^ID\s+HANDLER\s+SCHEDULE\s+ENABLED\s+NEXT RUN$/);
    expect(listed.stdout).toMatch(/news\s+message\s+every 45s\s+yes\s+\d{4}-/);

    const status = await run("status");
    expect(status.stdout).toContain("1 task, 1 enabled, 0 failing");
    expect(status.stdout).toMatch(/news\s+every 45s\s+\d{4}-.*success/);

    const history = await run("history", "news");
    expect(history.stdout).toContain("news: 1 run, 100% successful");
    expect(history.stdout).toMatch(/manual\s+1\s+success/);

    expect((await run("tasks", "disable", "news")).stdout).toBe("Disabled news.\n");
    expect((await db()).tasks[0]?.enabled).toBe(false);
    expect((await run("tasks", "delete", "news")).stdout).toBe("Deleted news.\n");
    expect((await db()).tasks).toEqual([]);
  });

  it("refuses bad input with a clear message, exit 1, and stores nothing", async () => {
    // As a process: the exit code and stderr a shell sees. Many more messages are checked in
    // process, in messages.test.ts.
    const cases: [string[], RegExp][] = [
      [
        ["tasks", "add", "x", "--handler", "test", "--schedule", "daily 25:00"],
        /error: schedule: "25:00" is not a time of day.*e\.g\. `daily 09:00`/,
      ],
      [
        ["tasks", "add", "x", "--handler", "test"],
        /required option '--schedule <text>' not specified/,
      ],
      [
        ["reminders", "add", "pay", "--due", "31/12/2026"],
        /error: due: "31\/12\/2026" is not a date; use YYYY-MM-DD/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await run(...args);
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stderr, args.join(" ")).toMatch(message);
    }
    expect((await db()).tasks).toEqual([]);
    expect((await db()).reminders).toEqual([]);
  });

  it("manages goals and reminders", async () => {
    expect((await run("goals", "add", "Ship", "v1")).stdout).toBe("Added goal #1: Ship v1\n");
    await run("goals", "add", "Write docs");
    expect((await run("goals", "done", "1")).stdout).toBe("Done: #1 Ship v1\n");
    expect((await run("goals", "list")).stdout).toBe("#2  Write docs\n");
    expect((await run("goals", "remove", "#2")).code).toBe(0);
    expect((await run("reminders", "add", "Renew", "domain", "--due", "2026-12-24")).stdout).toBe(
      "Added reminder #1 (due 2026-12-24): Renew domain\n",
    );
    await run("reminders", "add", "Call mum");
    expect((await run("reminders", "list")).stdout).toMatch(
      /^#1 {2}2026-12-24 \((in \d+ days|due tomorrow|due today|overdue by \d+ days?)\) {2}Renew domain\n#2 {2}Call mum\n$/,
    );
    await run("reminders", "done", "1");
    expect((await run("reminders", "list")).stdout).toBe("#2  Call mum\n");
  });

  it("retries a handler that throws, then records the run as failed", async () => {
    await run(
      "tasks",
      "add",
      "flaky",
      "--handler",
      "test",
      "--schedule",
      "daily 09:00",
      "--option",
      "failWith=database is down",
      "--retries",
      "1",
      "--retry-delay",
      "1",
    );
    const r = await run("run", "flaky");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: flaky: failure after 2 attempts in \d+ ms: database is down/);
    const log = (await readLogLines(join(dir.path, "data"))).filter((e) => e.taskId === "flaky");
    expect(log.map((e) => [e.attempt, e.trigger, e.status])).toEqual([
      [1, "manual", "failure"],
      [2, "retry", "failure"],
    ]);
    expect(Date.parse(log[1]?.ts ?? "") - Date.parse(log[0]?.ts ?? "")).toBeGreaterThanOrEqual(800);
    const task = (await db()).tasks.find((t: { id: string }) => t.id === "flaky");
    expect(task?.history).toMatchObject({
      totalRuns: 1,
      failureCount: 1,
      lastStatus: "failure",
      lastError: "database is down",
    });
    await run("tasks", "delete", "flaky");
  });

  it("imports the prototype's task JSON, mapping handler paths to handler names", async () => {
    const file = join(dir.path, "tasks.json");
    await writeFile(
      file,
      JSON.stringify({
        tasks: [
          {
            id: "morning_brief",
            name: "Morning brief",
            handler: "handlers.daily_briefing.run",
            schedule: { type: "daily", time: "07:30" },
            enabled: true,
          },
          {
            id: "ping",
            handler: "handlers.test_handler.run",
            schedule: { type: "interval", interval: 2, unit: "hours" },
            retry: { max_retries: 1, delay_seconds: 10 },
          },
          {
            id: "friday",
            handler: "handlers.message_handler.run",
            schedule: { type: "weekly", days: ["friday"], time: "16:00" },
            message: "Weekend!",
          },
          { id: "evil", handler: "os.system", schedule: { type: "daily", time: "09:00" } },
        ],
      }),
    );
    const r = await run("import", file);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("  + morning_brief: daily-briefing, daily 07:30");
    expect(r.stdout).toContain("  + ping: test, every 2h");
    expect(r.stdout).toContain("  + friday: message, weekly fri 16:00");
    expect(r.stdout).toContain("Imported 3 of 4 task(s).");
    expect(r.stderr).toMatch(/! evil: handler: no handler "os"/);
    const tasks = (await db()).tasks;
    expect(tasks.map((t: { id: string }) => t.id)).toEqual(["morning_brief", "ping", "friday"]);
    expect(tasks[1]?.retry).toMatchObject({ maxRetries: 1, delaySeconds: 10 });
    expect(tasks[2]?.options).toEqual({ message: "Weekend!" });
  });

  it("cleanup shows what it would remove, removes it, and refuses an age it cannot read", async () => {
    const data = join(dir.path, "data");
    const oldDay = join(data, "logs", "executions", "2026-01-01.jsonl");
    const oldOutput = join(data, "outputs", "local", "gone", "2026-01-01T06-00-00-000Z-a1.md");
    await mkdir(join(data, "outputs", "local", "gone"), { recursive: true });
    await writeFile(oldDay, "{}\n");
    await writeFile(oldOutput, "old\n");
    const dry = await run("cleanup", "--dry-run");
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(
      /^Would remove 2 files \(\d+ B\) from before \d{4}-\d\d-\d\d \d\d:\d\d UTC:/,
    );
    expect(dry.stdout).toMatch(/execution log\s+1 file/);
    expect(dry.stdout).toMatch(/outputs\s+1 file/);
    expect(dry.stdout).toContain("Nothing was removed (--dry-run).");
    expect(await readFile(oldOutput, "utf8")).toBe("old\n");
    const done = await run("cleanup");
    expect(done.stdout).toMatch(/^Removed 2 files/);
    await expect(readFile(oldDay)).rejects.toThrow();
    expect(await readdir(join(data, "outputs", "local"))).not.toContain("gone");
    expect((await run("cleanup", "--older-than", "1h")).stdout).toMatch(/^Nothing to remove/);
    const bad = await run("cleanup", "--older-than", "soon");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(
      '--older-than: an age in hours, days or weeks, more than 0 — e.g. 30d, 2w or 12h (got "soon")',
    );
  });

  it("runs as `mission-control`, the package's bin, as its help says", async () => {
    const { stdout, code } = await new Promise<{ stdout: string; code: number | null }>(
      (resolve) => {
        const child = spawn(
          process.execPath,
          [join(ROOT, "bin", "mission-control.js"), "status", "--json"],
          {
            cwd: dir.path,
            env: { PATH: process.env.PATH ?? "", ...env },
          },
        );
        let out = "";
        child.stdout.on("data", (c) => {
          out += String(c);
        });
        child.on("exit", (c) => resolve({ stdout: out, code: c }));
      },
    );
    expect(code).toBe(0);
    expect(Array.isArray(JSON.parse(stdout))).toBe(true);
    expect((await run("--help")).stdout).toMatch(/^Usage: mission-control /);
  });
});
