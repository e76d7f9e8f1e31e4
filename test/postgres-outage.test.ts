import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PgStore, PgWriteError } from "../src/store/pg/pg-store.ts";
import { TaskSchema } from "../src/tasks/model.ts";
import {
  type FreshDatabase,
  freshDatabase,
  postgresServerUrl,
  testPool,
  withClient,
} from "./support/postgres.ts";
import { makeWorld, type World } from "./support/world.ts";

// A bot on PostgreSQL whose connections are cut (a server restart, a network drop): it stops
// scheduling while it cannot hear the database, hears other processes' changes again once
// reconnected, and resumes.

let db: FreshDatabase;
let w: World;

const cutConnections = async () =>
  withClient(await postgresServerUrl(), (c) =>
    c.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
      [db.name],
    ),
  );

const until = async (check: () => boolean, what: string) => {
  const end = Date.now() + 15_000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};
const logged = (text: string) => () => w.lines.some((l) => String(l.msg).includes(text));

beforeEach(async () => {
  db = await freshDatabase();
  w = await makeWorld({ start: "2026-11-28T08:00:00Z", config: { DATABASE_URL: db.url } });
});
afterEach(async () => {
  await w.close();
  await db.drop();
});

describe("PostgreSQL: a cut connection", () => {
  it("pauses scheduling, reconnects, catches up with others' changes, and resumes", async () => {
    expect(w.app.scheduler.running).toBe(true);
    await cutConnections();
    await until(logged("scheduling paused"), "the pause");
    await until(logged("scheduling resumed"), "the resume");
    await until(() => w.app.scheduler.running, "the scheduler");
    await until(logged("caught up with other processes' changes"), "the listener");
    // Another process's change reaches this one again.
    const pool = testPool(db.url); // the cuts may end its connections too
    const other = await PgStore.open({ pool, shownUrl: db.name });
    await other.update(() =>
      other.putTask(
        TaskSchema.parse({
          guildId: "local",
          id: "from-elsewhere",
          name: "x",
          handler: "test",
          schedule: { type: "daily", time: "09:00" },
          timezone: "UTC",
          createdAt: "2026-11-28T08:00:00.000Z",
          updatedAt: "2026-11-28T08:00:00.000Z",
        }),
      ),
    );
    await until(() => w.app.store.task("local", "from-elsewhere") !== undefined, "the change");
    expect(w.app.service.nextRun("local", "from-elsewhere")?.toISOString()).toBe(
      "2026-11-28T09:00:00.000Z",
    );
    await other.close();
    await pool.end();
  });

  it("a change while the database is unreachable is refused, and undone in memory once it is back", async () => {
    const admin = await postgresServerUrl();
    await withClient(admin, (c) => c.query(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS false`));
    await cutConnections();
    try {
      const err = await w.app.service
        .addTask("local", { id: "lost", handler: "test", schedule: "daily 10:00" })
        .catch((e) => e);
      expect(err).toBeInstanceOf(PgWriteError);
      expect(err.message).toMatch(/could not save to PostgreSQL: .*; the change was not kept/);
    } finally {
      await withClient(admin, (c) => c.query(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS true`));
    }
    await until(() => w.app.store.task("local", "lost") === undefined, "the undo");
    await until(() => w.app.scheduler.running, "the resume");
    // Nothing of it reached the database.
    const rows = await withClient(db.url, (c) =>
      c.query("SELECT id FROM mc_records WHERE id = 'lost'"),
    );
    expect(rows.rowCount).toBe(0);
  });
});
