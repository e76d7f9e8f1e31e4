import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readStored } from "../src/store/store.ts";
import { type FakeDiscord, startFakeDiscord } from "./support/fake-discord.ts";
import { type Proc, startMain } from "./support/process.ts";
import { tempDir } from "./support/world.ts";

// The bot in several servers, commands global (no DISCORD_GUILD_ID), as a shared bot runs:
// joining, being removed, an outage, a re-invite, ALLOWED_GUILD_IDS.

let discord: FakeDiscord;
let dir: Awaited<ReturnType<typeof tempDir>>;
let bot: Proc | undefined;

const tasksOf = async (guild: string) =>
  (await readStored(join(dir.path, "data"))).tasks.filter(
    (t: { guildId: string }) => t.guildId === guild,
  ) as { id: string; enabled: boolean; suspended: boolean; ownerId: string | null }[];

async function start(env: Record<string, string> = {}): Promise<void> {
  bot = startMain(dir.path, {
    DISCORD_TOKEN: discord.token,
    DISCORD_API_URL: discord.url,
    DATA_DIR: join(dir.path, "data"),
    DEFAULT_TIMEZONE: "UTC",
    ...env,
  });
  await bot.waitFor(/ID\s+HANDLER\s+SCHEDULE/, 30_000);
}

async function stop(): Promise<void> {
  bot?.child.kill("SIGTERM");
  expect((await bot?.exited)?.code).toBe(0);
  bot = undefined;
}

beforeAll(async () => {
  discord = await startFakeDiscord();
  dir = await tempDir();
  await start();
}, 60_000);
afterAll(async () => {
  if (bot && bot.child.exitCode === null) await stop();
  await discord.close();
  await dir.remove();
});

describe("servers coming and going", () => {
  it("gives each server it joins the starter tasks, disabled until it has a briefing channel", async () => {
    expect(discord.globalCommands().map((c) => c.name)).toEqual([
      "task",
      "goal",
      "reminder",
      "settings",
    ]);
    for (const guild of [discord.guildId, discord.otherGuildId]) {
      const tasks = await discord.waitFor(async () => {
        const t = await tasksOf(guild);
        return t.length === 3 ? t : undefined;
      });
      expect(tasks.map((t) => [t.id, t.enabled, t.ownerId])).toEqual([
        ["daily-briefing", false, discord.owner.id],
        ["health-check", false, discord.owner.id],
        ["weekly-review", false, discord.owner.id],
      ]);
    }
  });

  it("/settings set briefing_channel says how to start the starter tasks", async () => {
    const id = discord.command(
      "settings",
      "set",
      { briefing_channel: discord.otherChannel },
      { guild: discord.otherGuildId },
    );
    const reply = await discord.waitFor(() => discord.replies(id)[0]);
    expect(String(reply.data.content)).toMatch(
      /Start the starter tasks with `\/task enable id:daily-briefing`, `\/task enable id:health-check`, `\/task enable id:weekly-review`/,
    );
  });

  it("removed: its tasks stop and its data stays; an outage changes nothing; invited back: they run again", async () => {
    // The outage comes first: once the removal after it is seen, the outage was handled too.
    discord.outage(discord.guildId);
    discord.removeBot(discord.otherGuildId);
    await discord.waitFor(async () =>
      (await tasksOf(discord.otherGuildId)).every((t) => t.suspended),
    );
    expect((await tasksOf(discord.guildId)).some((t) => t.suspended)).toBe(false);
    discord.endOutage(discord.guildId);
    discord.inviteBot(discord.otherGuildId);
    const back = await discord.waitFor(async () => {
      const t = await tasksOf(discord.otherGuildId);
      return t.every((x) => !x.suspended) ? t : undefined;
    });
    expect(back).toHaveLength(3); // kept, not made again
  });

  it("with DISCORD_GUILD_ID set, the global commands go; with ALLOWED_GUILD_IDS, other servers are left", async () => {
    await stop();
    await start({ DISCORD_GUILD_ID: discord.guildId, ALLOWED_GUILD_IDS: discord.guildId });
    expect(discord.globalCommands()).toEqual([]);
    expect(discord.registeredCommands().map((c) => c.name)).toContain("settings");
    await discord.waitFor(() => discord.left.includes(discord.otherGuildId));
    const told = await discord.waitFor(() =>
      discord.messages.find((m) => m.content.includes("it is leaving **Other Server**")),
    );
    expect(told.recipient).toBe(discord.owner.id); // the server's owner
    // Left by the bot itself: the same as being removed.
    await discord.waitFor(async () =>
      (await tasksOf(discord.otherGuildId)).every((t) => t.suspended),
    );
  });
});
