import { type Client, type Interaction, PermissionFlagsBits } from "discord.js";
import type { Config } from "../shared/config.ts";
import type { Task } from "../tasks/model.ts";

// Who may do what. Discord's default member permission hides the commands from most members,
// but server admins can change that, so every interaction is checked again here.

export type Refusal = string;

/**
 * Slash commands and autocomplete: in a server, by someone with Manage Server, the server's
 * manager role (`/settings set manager_role`) or an admin id. Checked on every interaction,
 * from the member as Discord sends it with the interaction.
 */
export function commandRefusal(
  interaction: Interaction,
  config: Pick<Config, "ADMIN_USER_IDS">,
  managerRoleId: string | null = null,
): Refusal | null {
  if (!interaction.inGuild()) return "Mission Control's commands work in a server, not in DMs.";
  if (config.ADMIN_USER_IDS.includes(interaction.user.id)) return null;
  if (interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild)) return null;
  if (managerRoleId && hasRole(interaction.member, managerRoleId)) return null;
  return managerRoleId
    ? `You need the **Manage Server** permission or the <@&${managerRoleId}> role to manage Mission Control's tasks.`
    : "You need the **Manage Server** permission to manage Mission Control's tasks.";
}

function hasRole(member: Interaction["member"], roleId: string): boolean {
  const roles = member?.roles;
  return Array.isArray(roles) ? roles.includes(roleId) : !!roles?.cache.has(roleId);
}

/** Alert buttons arrive in DMs, where there are no server permissions: the task's people only. */
export function alertButtonRefusal(
  userId: string,
  task: Task,
  config: Pick<Config, "ADMIN_USER_IDS"> & { ALERT_USER_ID?: string | null },
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

/** The server a channel is in, or null when the bot cannot see it (or it is a DM). */
export async function channelGuild(client: Client, channelId: string): Promise<string | null> {
  const channel = await client.channels.fetch(channelId).catch(() => null);
  return channel && !channel.isDMBased() ? channel.guildId : null;
}
