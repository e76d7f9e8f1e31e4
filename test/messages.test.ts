import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../src/cli/program.ts";
import { readStored } from "../src/store/store.ts";
import { DEFAULT_HANDLERS_DIR } from "../src/tasks/handler.ts";
import { tempDir } from "./support/world.ts";

// What a person reads back when they get something wrong: in process, through the CLI's own
// entry (the slash commands go through the same service and messages).

let dir: Awaited<ReturnType<typeof tempDir>>;
const data = () => join(dir.path, "data");

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    env: { DATA_DIR: data(), DEFAULT_TIMEZONE: "Europe/Paris", MIN_INTERVAL_SECONDS: "1" },
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    handlersDir: DEFAULT_HANDLERS_DIR,
  });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

beforeAll(async () => {
  dir = await tempDir();
  expect(
    (await cli("tasks", "add", "standup", "--handler", "test", "--schedule", "daily 09:00")).code,
  ).toBe(0);
});
afterAll(() => dir.remove());

const add = (...more: string[]) =>
  cli("tasks", "add", "x", "--handler", "test", "--schedule", "every 1h", ...more);

describe("answers that help", () => {
  it.each([
    [
      ["reminders", "add", "pay", "--due", "2026-13-01"],
      'error: due: "2026-13-01" is not a date; use YYYY-MM-DD — e.g. 2026-12-24',
    ],
    [
      [
        "tasks",
        "add",
        "x",
        "--handler",
        "test",
        "--schedule",
        "every 1h",
        "--option",
        "failwith=disk",
      ],
      'error: options: "failwith" is not an option of the test handler (did you mean "failWith"?); its options are message, failWith, delaySeconds, leakRejection — e.g. --option message=…',
    ],
    [
      ["tasks", "add", "x", "--handler", "message", "--schedule", "every 1h"],
      "error: options.message: required by the message handler (set it with --message in the CLI, message: in /task): the text to post — e.g. Stand-up in 5 minutes!",
    ],
    [
      [
        "tasks",
        "add",
        "x",
        "--handler",
        "test",
        "--schedule",
        "every 1h",
        "--until",
        "2020-01-01T00:00:00Z",
      ],
      /^error: until: 2020-01-01T00:00:00Z is in the past, so the task would never run; give a later end, or none — e\.g\. \d{4}-\d\d-\d\dT00:00:00Z$/,
    ],
    [
      ["tasks", "add", "x", "--handler", "test", "--schedule", "every 1h", "--timezone", "EST"],
      'error: timezone: "EST" is an abbreviation, not a place\'s time zone, and need not follow your clock through the year; use the zone of a place, such as America/New_York',
    ],
    [
      [
        "tasks",
        "add",
        "x",
        "--handler",
        "test",
        "--schedule",
        "every 1h",
        "--timezone",
        "Europe/Pariss",
      ],
      'error: timezone: "Europe/Pariss" is not an IANA time zone (did you mean "Europe/Paris"?); use a name such as Europe/Paris, America/New_York, Asia/Tokyo or UTC',
    ],
    [
      ["tasks", "show", "standupp"],
      'error: no task with id "standupp" — did you mean "standup"? `tasks list` (CLI) or `/task list` shows the ids',
    ],
    [
      ["tasks", "add", "x", "--handler", "tset", "--schedule", "every 1h"],
      'error: handler: no handler "tset" (did you mean "test"?); available: daily-briefing, health-check, message, test, weekly-review — e.g. test',
    ],
    [
      ["settings", "set", "--timezone", "pst"],
      /^error: timezone: "pst" is an abbreviation.*America\/Los_Angeles$/,
    ],
    [
      [
        "tasks",
        "add",
        "x",
        "--handler",
        "test",
        "--schedule",
        "daily 09:00",
        "--timezone",
        "Moon/Base",
      ],
      /^error: timezone: "Moon\/Base" is not an IANA time zone/,
    ],
    [
      ["tasks", "add", "X Y", "--handler", "test", "--schedule", "daily 09:00"],
      /^error: id: use 1-64 lowercase letters/,
    ],
    [
      ["tasks", "add", "x", "--handler", "../../etc/passwd", "--schedule", "daily 09:00"],
      /^error: handler: no handler "..\/..\/etc\/passwd"; available: daily-briefing, health-check, message, test, weekly-review/,
    ],
    [["goals", "done", "abc"], /^error: goal id: a number from the list/],
  ] as [string[], string | RegExp][])("%j", async (argv, message) => {
    const r = await cli(...argv);
    expect(r.code).toBe(1);
    if (typeof message === "string") expect(r.err.trim()).toBe(message);
    else expect(r.err.trim()).toMatch(message);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect((await readStored(data())).tasks.map((t: { id: string }) => t.id)).toEqual(["standup"]);
  });

  it("lists each handler's options with how to set them and an example", async () => {
    const { out } = await cli("handlers");
    expect(out).toContain(
      '\n  --message "Stand-up in 5 minutes!"  the message to post (message handler); required\n',
    );
    expect(out).toMatch(
      /\n {2}--option upcomingDays=7 +reminders due this many days ahead are listed; default 7\n/,
    );
    expect(out).toMatch(/\n {2}--option failWith="disk full" +throw this error instead/);
  });

  it("labels a dry run, shows seconds where runs are seconds apart, and says how far a reminder is", async () => {
    expect(
      (await cli("tasks", "add", "fast", "--handler", "test", "--schedule", "every 5s")).out,
    ).toMatch(/\n {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d[05] \(Europe\/Paris\)\n/);
    expect((await cli("run", "fast", "--dry-run")).out).toMatch(
      /\nfast: dry run, success after 1 attempt in \d+ ms; nothing was saved, posted, logged or counted$/,
    );
    await cli("run", "fast");
    expect((await cli("history", "fast")).out).toMatch(
      /\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(Europe\/Paris\) +manual/,
    );
    await cli("reminders", "add", "pay rent", "--due", "2020-01-01");
    expect((await cli("reminders", "list")).out).toMatch(
      /^#1 {2}2020-01-01 \(overdue by \d+ days\) {2}pay rent$/,
    );
    await cli("tasks", "delete", "fast");
    await cli("reminders", "remove", "1");
  });

  it("prints JSON for scripts: list, show, status, history, goals and reminders", async () => {
    const list = JSON.parse((await cli("tasks", "list", "--json")).out);
    expect(list).toEqual([
      expect.objectContaining({
        id: "standup",
        schedule: { type: "daily", time: "09:00" },
        scheduleText: "daily 09:00",
        scheduleWords: "every day at 09:00",
        nextRun: expect.stringMatching(/^\d{4}-\d\d-\d\dT08:00:00\.000Z$/),
      }),
    ]);
    expect(JSON.parse((await cli("status", "--json")).out)).toEqual(list);
    const shown = JSON.parse((await cli("tasks", "show", "standup", "--json")).out);
    expect(shown.id).toBe("standup");
    expect(shown.upcoming).toHaveLength(3);
    await cli("run", "standup");
    const history = JSON.parse((await cli("history", "standup", "--json")).out);
    expect(history).toMatchObject({ task: "standup", successRate: 1 });
    expect(history.recent).toEqual([
      expect.objectContaining({ taskId: "standup", status: "success" }),
    ]);
    await cli("goals", "add", "Ship v1");
    expect(JSON.parse((await cli("goals", "list", "--json")).out)).toEqual([
      expect.objectContaining({ id: 1, text: "Ship v1", doneAt: null }),
    ]);
    expect(JSON.parse((await cli("reminders", "list", "--json")).out)).toEqual([]);
  });

  it("imports the prototype's file again: refused per id, or --skip-existing, or --replace", async () => {
    const file = join(dir.path, "tasks.json");
    const write = (time: string) =>
      writeFile(
        file,
        JSON.stringify({
          tasks: [
            {
              id: "brief",
              handler: "handlers.test_handler.run",
              schedule: { type: "daily", time },
            },
          ],
        }),
      );
    await write("07:30");
    expect((await cli("import", file)).code).toBe(0);
    const again = await cli("import", file);
    expect(again.code).toBe(1);
    expect(again.err).toContain(
      '! brief: a task with id "brief" already exists; pick another id or edit it (or import with --skip-existing or --replace)',
    );
    const skipped = await cli("import", file, "--skip-existing");
    expect(skipped.code).toBe(0);
    expect(skipped.out).toContain("  = brief: already here, left as it is");
    expect(skipped.out).toContain("Imported 0 of 1 task(s); 1 left as they were.");
    await write("08:45");
    const replaced = await cli("import", file, "--replace");
    expect(replaced.code).toBe(0);
    expect(replaced.out).toContain("  ~ brief: test, daily 08:45");
    const brief = (await readStored(data())).tasks.find((t: { id: string }) => t.id === "brief");
    expect(brief?.schedule).toEqual({ type: "daily", time: "08:45" });
    expect((await cli("import", file, "--replace", "--skip-existing")).err).toContain("choose one");
    await cli("tasks", "delete", "brief");
  });

  it("stores a zone by its proper name, whatever its case", async () => {
    const r = await add("--timezone", "europe/paris");
    expect(r.out).toContain("(Europe/Paris)");
    const x = (await readStored(data())).tasks.find((t: { id: string }) => t.id === "x");
    expect(x?.timezone).toBe("Europe/Paris");
    expect((await cli("tasks", "delete", "x")).code).toBe(0);
  });
});
