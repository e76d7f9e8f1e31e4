import type { ApplicationCommandData, Client } from "discord.js";
import type { Logger } from "../logger.ts";
import type { Command } from "./command.ts";

/**
 * Registers the slash commands to DISCORD_GUILD_ID (instant) or globally, unless Discord
 * already has exactly these definitions: a restart should not re-register for nothing.
 */
export async function registerCommands(
  client: Client<true>,
  commands: Command[],
  guildId: string | undefined,
  log: Logger,
): Promise<"registered" | "unchanged"> {
  const manager = client.application.commands;
  const existing = await manager.fetch(guildId ? { guildId } : {});
  const same =
    existing.size === commands.length &&
    commands.every((c) =>
      existing
        .find((e) => e.name === c.data.name)
        ?.equals(c.data as unknown as ApplicationCommandData, false),
    );
  if (same) {
    log.info({ guildId: guildId ?? "global" }, "slash commands unchanged; not registering");
    return "unchanged";
  }
  const data = commands.map((c) => c.data);
  if (guildId) await manager.set(data, guildId);
  else await manager.set(data);
  log.info({ guildId: guildId ?? "global", count: data.length }, "slash commands registered");
  return "registered";
}
