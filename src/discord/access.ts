import { type Client, type Interaction, PermissionFlagsBits } from "discord.js";
import type { Config } from "../shared/config.ts";
import type { Task } from "../tasks/model.ts";

// Who may do what. Discord's default member permission hides the commands from most members,
// but server admins can change that, so every interaction is checked again here.

export type Refusal = string;

/** Slash commands and autocomplete: in a server, by someone with Manage Server or an admin id. */
export function commandRefusal(
  interaction: Interaction,
  config: Pick<Config, "ADMIN_USER_IDS">,
): Refusal | null {
  if (!interaction.inGuild()) return "Mission Control's commands work in a server, not in DMs.";
  if (config.ADMIN_USER_IDS.includes(interaction.user.id)) return null;
  if (interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild)) return null;
  return "You need the **Manage Server** permission to manage Mission Control's tasks.";
}

/** Alert buttons arrive in DMs, where there are no server permissions: the task's people only. */
export function alertButtonRefusal(
  userId: string,
  task: Task,
  config: Pick<Config, "ADMIN_USER_IDS" | "ALERT_USER_ID">,
): Refusal | null {
  const allowed = [task.ownerId, config.ALERT_USER_ID, ...config.ADMIN_USER_IDS].filter(Boolean);
  return allowed.includes(userId)
    ? null
    : "Only the task's owner, the alert recipient or a Mission Control admin can use these buttons.";
}

const NEEDED = [
  [PermissionFlagsBits.ViewChannel, "View Channel"],
  [PermissionFlagsBits.SendMessages, "Send Messages"],
  [PermissionFlagsBits.EmbedLinks, "Embed Links"],
] as const;

/** Null when the bot can see and post in the channel; otherwise what is wrong, for a warning. */
export async function channelProblem(client: Client, channelId: string): Promise<string | null> {
  const channel = await client.channels.fetch(channelId).catch(() => null);
  if (!channel) return `I can't find or see <#${channelId}>; runs will fail until I can.`;
  if (!channel.isTextBased() || channel.isDMBased())
    return `<#${channelId}> is not a text channel I can post in.`;
  const me = client.user;
  const perms = me ? channel.permissionsFor(me) : null;
  const missing = NEEDED.filter(([bit]) => !perms?.has(bit)).map(([, name]) => name);
  return missing.length
    ? `I'm missing ${missing.join(", ")} in <#${channelId}>; runs will fail until I have them.`
    : null;
}
