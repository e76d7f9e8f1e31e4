import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loginWithDiscord, startDashboardBot } from "./support/dashboard-bot.ts";
import { type FakeDiscord, startFakeDiscord } from "./support/fake-discord.ts";
import { type FreshDatabase, freshDatabase, withClient } from "./support/postgres.ts";
import { cli, killAll, type Proc, startMain } from "./support/process.ts";
import { tempDir } from "./support/world.ts";

// `npm run start:sharded` on PostgreSQL: two shard processes under discord.js's ShardingManager,
// one database. A command is answered in each server, by its shard, from the shared records,
// and a task's runs are shared between the two processes, each run once.

let discord: FakeDiscord;
let db: FreshDatabase;
let dir: Awaited<ReturnType<typeof tempDir>>;
/** The processes a test started: the manager (start:sharded) or shards started by hand. */
const procs: Proc[] = [];

beforeEach(async () => {
  discord = await startFakeDiscord();
  db = await freshDatabase();
  dir = await tempDir();
});
afterEach(async () => {
  await killAll(procs);
  await discord.close();
  await dir.remove();
  await db.drop();
});

describe("npm run start:sharded with DATABASE_URL", () => {
  it("runs a process per shard on one database: commands answered in each server, each run once", async () => {
    const env = { DATABASE_URL: db.url, DEFAULT_TIMEZONE: "UTC", MIN_INTERVAL_SECONDS: "1" };
    // A task in each server, added by the CLI of another machine before the bot starts.
    for (const [guild, id] of [
      [discord.guildId, "tick-a"],
      [discord.otherGuildId, "tick-b"],
    ] as const) {
      const add = await cli(
        dir.path,
        { ...env, DATA_DIR: join(dir.path, "cli") },
        "tasks",
        "add",
        id,
        "--handler",
        "test",
        "--schedule",
        "every 1s",
        "--server",
        guild,
      );
      expect(add.code, add.stderr).toBe(0);
    }
    const manager = startMain(
      dir.path,
      {
        ...env,
        DISCORD_TOKEN: discord.token,
        DISCORD_API_URL: discord.url,
        DATA_DIR: join(dir.path, "data"),
        SHARD_COUNT: "2",
      },
      "sharded.ts",
    );
    procs.push(manager);
    await manager.waitFor(
      /\(shard 0 of 2\)[\s\S]*\(shard 1 of 2\)|\(shard 1 of 2\)[\s\S]*\(shard 0 of 2\)/,
      90_000,
    );
    expect(discord.identified.map(String).sort()).toEqual(["0,2", "1,2"]);

    // Each server's command reaches its shard, which answers from the shared records.
    for (const [guild, own, other] of [
      [discord.guildId, "tick-a", "tick-b"],
      [discord.otherGuildId, "tick-b", "tick-a"],
    ] as const) {
      const id = discord.command("task", "list", {}, { guild });
      const reply = JSON.stringify((await discord.waitFor(() => discord.replies(id)[0])).data);
      expect(reply).toContain(own);
      expect(reply).not.toContain(other);
    }

    // Both processes find every run due; each run is in the log once.
    const runs = async () =>
      (
        await withClient(db.url, (c) =>
          c.query<{ run_id: string; n: string }>(
            "SELECT run_id, count(*) AS n FROM mc_executions GROUP BY run_id",
          ),
        )
      ).rows;
    await discord.waitFor(async () => (await runs()).length >= 10, 30_000);
    expect((await runs()).filter((r) => Number(r.n) > 1)).toEqual([]);

    // They share the data folder, each holding a lock of its own; a CLI command in that folder
    // works beside them (on the database directly).
    const data = join(dir.path, "data");
    expect((await readdir(data)).filter((f) => f.endsWith(".lock")).sort()).toEqual([
      "mission-control.shard-0.lock",
      "mission-control.shard-1.lock",
    ]);
    const list = await cli(
      dir.path,
      { ...env, DATA_DIR: data },
      "tasks",
      "list",
      "--server",
      discord.otherGuildId,
    );
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain("tick-b");

    manager.child.kill("SIGTERM");
    expect((await manager.exited).code).toBe(0);
  }, 180_000);

  it("one shard's dashboard shows a server of another shard to its admin, checked with Discord", async () => {
    const env = {
      DATABASE_URL: db.url,
      DEFAULT_TIMEZONE: "UTC",
      DATA_DIR: join(dir.path, "data"),
      SHARD_COUNT: "2",
    };
    const b = await cli(
      dir.path,
      { DATABASE_URL: db.url, DEFAULT_TIMEZONE: "UTC", DATA_DIR: join(dir.path, "cli") },
      "tasks",
      "add",
      "only-b",
      "--handler",
      "test",
      "--schedule",
      "daily 09:00",
      "--server",
      discord.otherGuildId,
    );
    expect(b.code, b.stderr).toBe(0);
    // Shard 1 (the other server's) without a dashboard; shard 0 serves it.
    const shard1 = startMain(dir.path, {
      ...env,
      DISCORD_TOKEN: discord.token,
      DISCORD_API_URL: discord.url,
      SHARD_ID: "1",
    });
    procs.push(shard1);
    await shard1.waitFor(/\(shard 1 of 2\)/, 60_000);
    const { bot: shard0, dash } = await startDashboardBot(discord, dir.path, {
      ...env,
      SHARD_ID: "0",
    });
    procs.push(shard0);
    const cookie = await loginWithDiscord(discord, dash, discord.otherAdmin);
    const get = (path: string) =>
      fetch(`${dash}${path}`, { headers: { cookie }, redirect: "manual" });
    const home = await (await get("/")).text();
    expect(home).toContain("Other Server");
    const page = await get(`/s/${discord.otherGuildId}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("only-b");
    // Still checked with Discord: not its admin, no access.
    const other = await loginWithDiscord(discord, dash, discord.member);
    const refused = await fetch(`${dash}/s/${discord.otherGuildId}`, {
      headers: { cookie: other },
      redirect: "manual",
    });
    expect(refused.status).toBe(403);
  }, 180_000);
});
