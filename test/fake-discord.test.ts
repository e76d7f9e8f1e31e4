import { once } from "node:events";
import { type Client, DiscordAPIError, Events, PermissionFlagsBits } from "discord.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDiscordClient } from "../src/discord/bot.ts";
import { type FakeDiscord, startFakeDiscord } from "./support/fake-discord.ts";

// The fake Discord itself, for what the web dashboard relies on: members and roles as the bot's
// own client sees them. Each part has a fake of its own, as the tests change who is in what.

describe("members and roles, through the bot's client", () => {
  let discord: FakeDiscord;
  let client: Client;
  beforeAll(async () => {
    discord = await startFakeDiscord();
    client = createDiscordClient({ DISCORD_API_URL: discord.url });
    const ready = once(client, Events.ClientReady);
    await client.login(discord.token);
    await ready;
    await discord.waitFor(() => client.guilds.cache.get(discord.otherGuildId)?.available);
  });
  afterAll(async () => {
    await client?.destroy();
    await discord?.close();
  });

  const manages = async (guild: string, userId: string) => {
    const g = client.guilds.cache.get(guild);
    const m = await g?.members.fetch({ user: userId, force: true });
    return m?.permissions.has(PermissionFlagsBits.ManageGuild);
  };

  it("Manage Server comes from the Managers role, not from owning the server", async () => {
    expect(client.guilds.cache.get(discord.guildId)?.ownerId).toBe(discord.owner.id);
    expect(await manages(discord.guildId, discord.admin.id)).toBe(true);
    expect(await manages(discord.otherGuildId, discord.admin.id)).toBe(true);
    expect(await manages(discord.guildId, discord.member.id)).toBe(false);
    expect(await manages(discord.otherGuildId, discord.otherAdmin.id)).toBe(true);
  });

  it("follows the role as it is taken and given back, with no gateway event", async () => {
    discord.setManager(discord.guildId, discord.admin.id, false);
    expect(await manages(discord.guildId, discord.admin.id)).toBe(false);
    expect(await manages(discord.otherGuildId, discord.admin.id)).toBe(true);
    discord.setManager(discord.guildId, discord.member.id, true);
    expect(await manages(discord.guildId, discord.member.id)).toBe(true);
    discord.setManager(discord.guildId, discord.member.id, false);
    discord.setManager(discord.guildId, discord.admin.id, true);
    expect(await manages(discord.guildId, discord.admin.id)).toBe(true);
  });

  it("a user outside a server is an Unknown Member there", async () => {
    const fetch = (guild: string, user: string) =>
      client.guilds.cache.get(guild)?.members.fetch({ user, force: true });
    await expect(fetch(discord.guildId, discord.otherAdmin.id)).rejects.toMatchObject({
      code: 10007,
      message: "Unknown Member",
    });
    await expect(fetch(discord.guildId, discord.otherAdmin.id)).rejects.toBeInstanceOf(
      DiscordAPIError,
    );
    discord.removeMember(discord.otherGuildId, discord.admin.id);
    await expect(fetch(discord.otherGuildId, discord.admin.id)).rejects.toMatchObject({
      code: 10007,
    });
    expect(() => discord.setManager(discord.otherGuildId, discord.admin.id, true)).toThrow(
      /not a member/,
    );
  });

  it("serves the server and its roles over REST", async () => {
    const guild = await client.guilds.fetch({ guild: discord.guildId, force: true });
    expect(guild.ownerId).toBe(discord.owner.id);
    const roles = await guild.roles.fetch(undefined, { force: true });
    expect(roles.map((r) => [r.name, r.permissions.has(PermissionFlagsBits.ManageGuild)])).toEqual([
      ["@everyone", false],
      ["Managers", true],
    ]);
  });
});
