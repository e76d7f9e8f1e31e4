import { readdir } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../src/cli/program.ts";
import { MissionControlError, ValidationError } from "../src/shared/errors.ts";
import { DEFAULT_HANDLERS_DIR } from "../src/tasks/handler.ts";
import { TASK_ID } from "../src/tasks/model.ts";
import { formatSchedule, parseSchedule, ScheduleSchema } from "../src/time/schedule.ts";
import { makeWorld, tempDir, type World } from "./support/world.ts";

// Random and adversarial input: it is refused with a ValidationError or accepted in a valid
// shape, and never crashes, reaches a file path or an import, or pollutes prototypes.

const hostile = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme", maxLength: 200 }),
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.constantFrom(
    "__proto__",
    "constructor",
    "prototype",
    "../../etc/passwd",
    "..",
    "/",
    "@everyone",
    "@here",
    "<@&123456789012345678>",
    "daily 09:00\u0000",
    "daily\u202e 09:00",
    "every 1e9s",
    "every 99999999h",
    "cron * * * * * * * *",
    "once 9999-12-31 23:59",
    "weekly mon,mon,mon 09:00",
    "a".repeat(10_000),
  ),
);

/** Shaped like a date, with any numbers in it: 2026-13-01, 0000-00-00, 2026-02-30 10:99. */
const pad = (n: number, w: number) => String(n).padStart(w, "0");
const dateLike = fc
  .tuple(
    fc.integer({ min: 0, max: 9999 }),
    fc.integer({ min: 0, max: 99 }),
    fc.integer({ min: 0, max: 99 }),
    fc.option(fc.tuple(fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }))),
  )
  .map(
    ([y, m, d, t]) =>
      `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}${t ? `T${pad(t[0], 2)}:${pad(t[1], 2)}` : ""}`,
  );

describe("the schedule parser", () => {
  it("returns a valid schedule or a ValidationError, for any string", () => {
    fc.assert(
      fc.property(hostile, (text) => {
        try {
          expect(ScheduleSchema.safeParse(parseSchedule(text)).success).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(ValidationError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("keeps valid schedules round-tripping through their text", () => {
    const time = fc
      .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
      .map(([h, m]) => `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`);
    const text = fc.oneof(
      time.map((t) => `daily ${t}`),
      fc
        .tuple(
          fc.subarray(["mon", "tue", "wed", "thu", "fri", "sat", "sun"], { minLength: 1 }),
          time,
        )
        .map(([d, t]) => `weekly ${d.join(",")} ${t}`),
      fc
        .tuple(fc.integer({ min: 1, max: 10_000 }), fc.constantFrom("s", "m", "h"))
        .map(([n, u]) => `every ${n}${u}`),
    );
    fc.assert(
      fc.property(text, (t) => {
        const s = parseSchedule(t);
        expect(parseSchedule(formatSchedule(s))).toEqual(s);
      }),
    );
  });
});

describe("the task service", () => {
  let w: World;
  beforeAll(async () => {
    w = await makeWorld({ start: "2026-11-26T12:00:00Z", autoStart: false });
  });
  afterAll(() => w.close());

  it("refuses or safely stores any id, handler, schedule and options, and runs what it stored", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(hostile, fc.stringMatching(TASK_ID)),
        fc.oneof(fc.constant("test"), hostile),
        fc.oneof(fc.constant("every 1h"), hostile),
        fc.oneof(fc.constant({}), fc.jsonValue(), fc.dictionary(hostile, fc.jsonValue())),
        async (id, handler, schedule, options) => {
          try {
            const task = await w.app.service.addTask("local", {
              id,
              handler,
              schedule,
              options: options as Record<string, unknown>,
            });
            expect(task.id).toMatch(TASK_ID);
            await w.app.service.runNow("local", task.id);
            await w.app.service.deleteTask("local", task.id);
          } catch (err) {
            expect(err).toBeInstanceOf(MissionControlError);
          }
        },
      ),
      { numRuns: 300 },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // Every folder made under outputs/<server>/ is named by a valid task id: no path came from
    // input.
    const dirs = await readdir(join(w.dataDir, "outputs", "local")).catch(() => [] as string[]);
    expect(await readdir(join(w.dataDir, "outputs")).catch(() => [])).toEqual(
      dirs.length ? ["local"] : [],
    );
    for (const d of dirs) expect(d).toMatch(TASK_ID);
    expect(await readdir(w.dataDir)).not.toContain("etc");
  });

  it("refuses or stores any end date of a task, never a crash", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(hostile, dateLike), async (until) => {
        try {
          await w.app.service.addTask("local", {
            id: "ends",
            handler: "test",
            schedule: "every 1h",
            until,
          });
          await w.app.service.deleteTask("local", "ends");
        } catch (err) {
          expect(err).toBeInstanceOf(ValidationError);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("takes any text as a goal or reminder, or refuses it clearly", async () => {
    await fc.assert(
      fc.asyncProperty(hostile, fc.option(fc.oneof(hostile, dateLike)), async (text, due) => {
        try {
          const r = await w.app.items.addItem("local", "reminder", text, due);
          expect(r.text.length).toBeLessThanOrEqual(500);
        } catch (err) {
          expect(err).toBeInstanceOf(ValidationError);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("the CLI", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir();
  });
  afterAll(() => dir.remove());

  it("answers any argument list with exit 0 or a one-line error, never a crash", async () => {
    const command = fc.oneof(
      fc
        .tuple(fc.stringMatching(TASK_ID), hostile, hostile)
        .map(([id, schedule, option]) => [
          "tasks",
          "add",
          id,
          "--handler",
          "test",
          "--schedule",
          schedule,
          "--option",
          option,
        ]),
      fc
        .tuple(hostile, fc.oneof(hostile, dateLike))
        .map(([text, due]) => ["reminders", "add", text, "--due", due]),
    );
    const args = fc.oneof(
      command,
      fc.array(
        fc.oneof(
          hostile,
          fc.constantFrom(
            "tasks",
            "add",
            "edit",
            "run",
            "--schedule",
            "--handler",
            "goals",
            "reminders",
            "--due",
            "import",
            "status",
            "history",
            "--option",
          ),
        ),
        { maxLength: 6 },
      ),
    );
    await fc.assert(
      fc.asyncProperty(args, async (argv) => {
        const err: string[] = [];
        const code = await runCli(argv, {
          env: { DATA_DIR: join(dir.path, "data"), MIN_INTERVAL_SECONDS: "60" },
          out: () => {},
          err: (t) => err.push(t),
          handlersDir: DEFAULT_HANDLERS_DIR,
        });
        expect([0, 1]).toContain(code);
        expect(err.join("\n")).not.toMatch(/\n\s+at /); // no stack trace
      }),
      { numRuns: 150 },
    );
  });
});
