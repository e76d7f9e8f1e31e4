import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DeliveryJournal } from "../src/discord/delivery-journal.ts";
import type { DeliveryRecords } from "../src/store/delivery-records.ts";
import type { Execution } from "../src/store/execution.ts";
import { ExecutionLog } from "../src/store/execution-log.ts";
import type { ExecutionRecords } from "../src/store/execution-records.ts";
import { PgDeliveryRecords } from "../src/store/pg/pg-deliveries.ts";
import { PgExecutionLog } from "../src/store/pg/pg-execution-log.ts";
import { PgStore } from "../src/store/pg/pg-store.ts";
import { freshDatabase, testPool } from "./support/postgres.ts";
import { tempDir } from "./support/world.ts";

// The execution log's and the delivery records' contracts, one suite for both backends: day
// files under DATA_DIR, and PostgreSQL's tables (DATABASE_URL).

const DAY = 86_400_000;
const T0 = Date.parse("2026-11-20T10:00:00Z");

const attempt = (
  taskId: string,
  atMs: number,
  over: Partial<Execution> = {},
  tenant = "local",
): Execution => ({
  ts: new Date(atMs + 12).toISOString(),
  guildId: tenant,
  taskId,
  runId: `${tenant}/${taskId}@${new Date(atMs).toISOString()}`,
  scheduledFor: new Date(atMs).toISOString(),
  attempt: 1,
  trigger: "schedule",
  status: "success",
  durationMs: 12,
  error: null,
  ...over,
});

const backends: [string, () => Promise<{ log: ExecutionRecords; cleanup(): Promise<void> }>][] = [
  [
    "day files",
    async () => {
      const dir = await tempDir();
      const log = new ExecutionLog(dir.path, "local");
      return {
        log,
        cleanup: async () => {
          await log.close();
          await dir.remove();
        },
      };
    },
  ],
  [
    "PostgreSQL",
    async () => {
      const db = await freshDatabase();
      const pool = testPool(db.url);
      const store = await PgStore.open({ pool, shownUrl: db.name }); // creates the schema
      return {
        log: new PgExecutionLog(pool),
        cleanup: async () => {
          await store.close();
          await pool.end();
          await db.drop();
        },
      };
    },
  ],
];

describe.each(backends)("execution log contract: %s", (_, make) => {
  let log: ExecutionRecords;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ log, cleanup } = await make());
    // Six days of a daily task, a retried run, another task and another server.
    for (let d = 0; d < 6; d++) await log.append(attempt("daily", T0 + d * DAY));
    await log.append(attempt("flaky", T0 + 5 * DAY, { status: "failure", error: "boom" }));
    await log.append(
      attempt("flaky", T0 + 5 * DAY, {
        attempt: 2,
        trigger: "retry",
        ts: new Date(T0 + 5 * DAY + 60_000).toISOString(),
      }),
    );
    await log.append(attempt("daily", T0 + 5 * DAY, {}, "123456789012345678"));
  });
  afterEach(() => cleanup());

  it("reads a task's recent attempts, oldest first, as written", async () => {
    const recent = await log.recent("local", "daily", 3);
    expect(recent.map((e) => e.scheduledFor)).toEqual(
      [3, 4, 5].map((d) => new Date(T0 + d * DAY).toISOString()),
    );
    expect(recent[2]).toEqual(attempt("daily", T0 + 5 * DAY));
    expect(await log.recent("local", "nothing", 3)).toEqual([]);
  });

  it("reads several tasks' recent attempts at once, as one at a time would", async () => {
    const many = await log.recentMany("local", ["daily", "flaky", "nothing"], 2);
    expect(many.get("daily")).toEqual(await log.recent("local", "daily", 2));
    expect(many.get("flaky")?.map((e) => e.attempt)).toEqual([1, 2]);
    expect(many.get("nothing")).toEqual([]);
  });

  it("lists entries since an instant, and walks back from the newest", async () => {
    const since = await log.since(T0 + 5 * DAY);
    expect(since.map((e) => `${e.guildId}/${e.taskId}#${e.attempt}`)).toEqual([
      "local/daily#1",
      "local/flaky#1",
      "local/flaky#2",
      "123456789012345678/daily#1",
    ]);
    const back: string[] = [];
    await log.readBackwards((e) => {
      back.push(e.taskId);
      return back.length < 3;
    });
    expect(back).toEqual(["daily", "flaky", "flaky"]);
  });

  it("counts a tenant's runs in a window, each run once, as its last attempt", async () => {
    const activity = await log.activity("local", T0 + 4 * DAY, T0 + 6 * DAY);
    expect(activity).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ taskId: "daily", runs: 2, succeeded: 2 }),
        expect.objectContaining({ taskId: "flaky", runs: 1, succeeded: 1, failed: 0 }),
      ]),
    );
    expect(await log.activity("123456789012345678", T0, T0 + 7 * DAY)).toEqual([
      expect.objectContaining({ taskId: "daily", runs: 1 }),
    ]);
  });

  it("removes the days before a cutoff, listing them first on a dry run", async () => {
    const cutoff = new Date(T0 + 2 * DAY).toISOString().slice(0, 10);
    const dry = await log.removeBefore(cutoff, true);
    expect(dry).toHaveLength(2);
    expect(await log.recent("local", "daily", 10)).toHaveLength(6);
    const removed = await log.removeBefore(cutoff, false);
    expect(removed.length).toBe(2);
    expect(removed.every((r) => r.bytes > 0)).toBe(true);
    expect(
      (await log.recent("local", "daily", 10)).map((e) => e.scheduledFor.slice(0, 10)),
    ).toEqual([2, 3, 4, 5].map((d) => new Date(T0 + d * DAY).toISOString().slice(0, 10)));
  });
});

const deliveryBackends: [
  string,
  () => Promise<{ records: DeliveryRecords; setNow(ms: number): void; cleanup(): Promise<void> }>,
][] = [
  [
    "day files",
    async () => {
      const dir = await tempDir();
      let now = T0;
      return {
        records: new DeliveryJournal(dir.path, "local", () => now),
        setNow: (ms) => {
          now = ms;
        },
        cleanup: () => dir.remove(),
      };
    },
  ],
  [
    "PostgreSQL",
    async () => {
      const db = await freshDatabase();
      const pool = testPool(db.url);
      const store = await PgStore.open({ pool, shownUrl: db.name });
      let now = T0;
      return {
        records: new PgDeliveryRecords(pool, () => now),
        setNow: (ms) => {
          now = ms;
        },
        cleanup: async () => {
          await store.close();
          await pool.end();
          await db.drop();
        },
      };
    },
  ],
];

describe.each(deliveryBackends)("delivery records contract: %s", (_, make) => {
  it("knows a run as posted only once its post is recorded, and removes old days", async () => {
    const { records, setNow, cleanup } = await make();
    try {
      const run = "local/briefing@2026-11-20T08:00:00.000Z";
      await records.mark(run, "briefing", "posting", "123456789012345678");
      expect(await records.posted(run)).toBe(false);
      await records.mark(run, "briefing", "posted", "123456789012345678");
      expect(await records.posted(run)).toBe(true);
      setNow(T0 + 3 * DAY);
      await records.mark("local/later@x", "later", "posted", "123456789012345678");
      const cutoff = new Date(T0 + 2 * DAY).toISOString().slice(0, 10);
      expect(await records.removeBefore(cutoff, true)).toHaveLength(1);
      expect((await records.removeBefore(cutoff, false)).every((r) => r.bytes > 0)).toBe(true);
      expect(await records.removeBefore(cutoff, true)).toEqual([]);
    } finally {
      await cleanup();
    }
  });
});
