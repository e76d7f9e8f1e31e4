import { type REST, Routes } from "discord.js";
import type { Logger } from "../shared/logger.ts";
import type { Command } from "./command.ts";

// Fields that define a command; Discord adds ids, versions and defaults of its own.
const KEYS = [
  "name",
  "description",
  "type",
  "options",
  "required",
  "autocomplete",
  "choices",
  "value",
  "channel_types",
  "min_value",
  "max_value",
  "min_length",
  "max_length",
  "default_member_permissions",
  "contexts",
];

/** A command's definition with Discord's additions and empty defaults left out, keys sorted. */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const key of KEYS.filter((k) => k in (value as object)).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (v === null || v === undefined || v === false || (Array.isArray(v) && v.length === 0))
      continue;
    out[key] = canonical(v);
  }
  return out;
}

/**
 * With DISCORD_GUILD_ID set, commands registered globally before would show twice in that
 * server, and in others the bot no longer serves that way: they are removed.
 */
async function removeGlobalCommands(rest: REST, appId: string, log: Logger): Promise<void> {
  const route = Routes.applicationCommands(appId);
  const stale = ((await rest.get(route).catch(() => [])) ?? []) as unknown[];
  if (!stale.length) return;
  await rest.put(route, { body: [] });
  log.info({ count: stale.length }, "removed the global slash commands: DISCORD_GUILD_ID is set");
}

/**
 * Registers the slash commands to DISCORD_GUILD_ID (instant) or globally, unless Discord
 * already has exactly these definitions: a restart should not re-register for nothing.
 */
export async function registerCommands(
  rest: REST,
  appId: string,
  commands: Command[],
  guildId: string | undefined,
  log: Logger,
): Promise<"registered" | "unchanged"> {
  const route = guildId
    ? Routes.applicationGuildCommands(appId, guildId)
    : Routes.applicationCommands(appId);
  const data = commands.map((c) => c.data);
  if (guildId) await removeGlobalCommands(rest, appId, log);
  const existing = ((await rest.get(route).catch((err) => {
    log.warn({ err }, "could not read the registered commands; registering them anyway");
    return [];
  })) ?? []) as unknown[];
  const key = (list: unknown[]) =>
    JSON.stringify(
      (canonical(list) as { name: string }[]).slice().sort((a, b) => a.name.localeCompare(b.name)),
    );
  if (key(existing) === key(data)) {
    log.info({ guildId: guildId ?? "global" }, "slash commands unchanged; not registering");
    return "unchanged";
  }
  await rest.put(route, { body: data });
  log.info({ guildId: guildId ?? "global", count: data.length }, "slash commands registered");
  return "registered";
}
