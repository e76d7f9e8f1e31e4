import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readStored } from "../src/store/store.ts";
import { type FakeDiscord, shardOf, startFakeDiscord } from "./support/fake-discord.ts";
import { cli, type Proc, runScript, startMain } from "./support/process.ts";
import { tempDir } from "./support/world.ts";

// The bot as two processes, shard 0 and shard 1 of 2, on one fake Discord. Each has a data
// folder of its own (the file store), so what a process stored, and the task list it answers
// with, say which process heard of what.

let discord: FakeDiscord;
let dir: Awaited<ReturnType<typeof tempDir>>;
const bots: Proc[] = [];
const dataOf = (shard: number) => join(dir.path, `data-${shard}`);
const tasksIn = async (shard: number, guild: string) =>
  (await readStored(dataOf(shard))).tasks.filter(
    (t: { guildId: string }) => t.guildId === guild,
  ) as { id: string; suspended: boolean }[];
/** Adds a task to a data folder before its bot starts, as the CLI does. */
const seed = async (shard: number, guild: string, id: string) => {
  const env = { DATA_DIR: dataOf(shard), DEFAULT_TIMEZONE: "UTC" };
  const add = ["tasks", "add", id, "--handler", "test", "--schedule", "daily 09:00"];
  expect((await cli(dir.path, env, ...add, "--server", guild)).code).toBe(0);
};

beforeAll(async () => {
  discord = await startFakeDiscord();
  dir = await tempDir();
  // Guild A is shard 0's and guild B shard 1's, whatever the ids.
  expect([shardOf(discord.guildId, 2), shardOf(discord.otherGuildId, 2)]).toEqual([0, 1]);
  await seed(0, discord.guildId, "only-on-shard-0");
  await seed(1, discord.otherGuildId, "only-on-shard-1");
  // Shard 0's folder also knows guild B (say, from before the bot was sharded).
  await seed(0, discord.otherGuildId, "b-seen-by-shard-0");
  for (const shard of [0, 1])
    bots.push(
      startMain(dir.path, {
        DISCORD_TOKEN: discord.token,
        DISCORD_API_URL: discord.url,
        DATA_DIR: dataOf(shard),
        DEFAULT_TIMEZONE: "UTC",
        SHARD_ID: String(shard),
        SHARD_COUNT: "2",
      }),
    );
  // Then the scheduler starts and prints the default server's tasks (none: no DISCORD_GUILD_ID).
  for (const bot of bots) await bot.waitFor(/No tasks yet/, 45_000);
}, 90_000);
afterAll(async () => {
  for (const bot of bots) {
    bot.child.kill("SIGTERM");
    await bot.exited;
  }
  await discord?.close();
  await dir?.remove();
});

describe("two processes, one shard each", () => {
  it("each identifies as its shard and hears only of its own server", async () => {
    expect(discord.identified.map(String).sort()).toEqual(["0,2", "1,2"]);
    expect(bots[0]?.output()).toContain("(shard 0 of 2)");
    expect(bots[1]?.output()).toContain("(shard 1 of 2)");
    // A server joined gets its starter tasks: each process got them for its own server only.
    const starters = async (shard: number, guild: string) =>
      (await tasksIn(shard, guild)).some((t) => t.id === "daily-briefing");
    await discord.waitFor(
      async () => (await starters(0, discord.guildId)) && (await starters(1, discord.otherGuildId)),
    );
    expect(await starters(0, discord.otherGuildId)).toBe(false);
    expect(await starters(1, discord.guildId)).toBe(false);
  });

  it("a server of another shard is not taken for one that removed the bot", async () => {
    const [task] = await tasksIn(0, discord.otherGuildId);
    expect(task).toMatchObject({ id: "b-seen-by-shard-0", suspended: false });
  });

  it("a command is answered by the process of the server's shard", async () => {
    const listed = async (guild: string) => {
      const id = discord.command("task", "list", {}, { guild });
      const reply = await discord.waitFor(() => discord.replies(id)[0]);
      return JSON.stringify(reply.data);
    };
    const inB = await listed(discord.otherGuildId);
    expect(inB).toContain("only-on-shard-1");
    expect(inB).not.toContain("only-on-shard-0");
    const inA = await listed(discord.guildId);
    expect(inA).toContain("only-on-shard-0");
    expect(inA).not.toContain("only-on-shard-1");
  });
});

describe("settings and refusals", () => {
  it("a bad SHARD_ID/SHARD_COUNT stops the start with one line and touches no data", async () => {
    const data = join(dir.path, "never");
    const bot = startMain(dir.path, { DATA_DIR: data, SHARD_ID: "2", SHARD_COUNT: "2" });
    bots.push(bot); // stopped after, should it start after all
    expect((await bot.exited).code).toBe(1);
    expect(bot.output().trim()).toBe(
      "Invalid configuration: SHARD_ID must be less than SHARD_COUNT (shards are numbered 0 to 1), e.g. SHARD_ID=1 with SHARD_COUNT=2",
    );
    expect(existsSync(data)).toBe(false);
  });

  it("start:sharded refuses without DATABASE_URL, and without DISCORD_TOKEN", async () => {
    const noDatabase = await runScript("sharded.ts", dir.path, {
      DISCORD_TOKEN: discord.token,
      DISCORD_API_URL: discord.url,
    });
    expect(noDatabase.code).toBe(1);
    expect(noDatabase.stderr.trim()).toBe(
      "start:sharded needs DATABASE_URL: shards are separate processes and share their data through PostgreSQL (see README)",
    );
    const noToken = await runScript("sharded.ts", dir.path, {
      DATABASE_URL: "postgres://mission@127.0.0.1:1/mission_control",
    });
    expect(noToken.code).toBe(1);
    expect(noToken.stderr.trim()).toMatch(/^start:sharded needs DISCORD_TOKEN: /);
    // Nothing was started: no shard line.
    expect(noDatabase.stdout + noToken.stdout).toBe("");
  });
});
