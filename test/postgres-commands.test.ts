import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConflictError } from "../src/shared/errors.ts";
import { type FreshDatabase, freshDatabase } from "./support/postgres.ts";
import { until } from "./support/until.ts";
import { makeWorld, type World } from "./support/world.ts";

// Two bot processes on one database receive commands for the same task at the same moment (a
// slash command on one, the dashboard or the CLI on the other): one wins, the other is told so
// in words, and nothing is half-applied.

let db: FreshDatabase;
const worlds: World[] = [];

beforeEach(async () => {
  db = await freshDatabase();
  for (let i = 0; i < 2; i++)
    worlds.push(
      await makeWorld({ start: "2026-11-28T08:00:00Z", config: { DATABASE_URL: db.url } }),
    );
});
afterEach(async () => {
  for (const w of worlds.splice(0)) await w.close();
  await db.drop();
});

describe("two processes, one task, two commands at once", () => {
  it("one wins; the other gets a clear answer and changes nothing", async () => {
    const [one, two] = worlds as [World, World];
    await one.app.service.addTask("local", {
      id: "report",
      handler: "test",
      schedule: "daily 09:00",
    });
    await until(() => two.app.store.task("local", "report") !== undefined);
    const results = await Promise.allSettled([
      one.app.service.editTask("local", "report", { schedule: "daily 10:00", name: "by one" }),
      two.app.service.editTask("local", "report", { schedule: "daily 11:00", name: "by two" }),
    ]);
    const lost = results.filter((r) => r.status === "rejected");
    expect(lost).toHaveLength(1);
    const reason = (lost[0] as PromiseRejectedResult).reason as Error;
    expect(reason).toBeInstanceOf(ConflictError);
    expect(reason.message).toBe(
      "this was changed by another Mission Control process at the same moment; nothing was changed here — look again and retry",
    );
    const won = results[0]?.status === "fulfilled" ? "by one" : "by two";
    const at = won === "by one" ? "2026-11-28T10:00:00.000Z" : "2026-11-28T11:00:00.000Z";
    // Both processes agree on the winner, all of it: its name and its schedule.
    for (const w of worlds) {
      await until(() => w.app.store.task("local", "report")?.name === won);
      expect(w.app.service.nextRun("local", "report")?.toISOString()).toBe(at);
    }
  });
});
