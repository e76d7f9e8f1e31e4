import type { Interaction } from "discord.js";
import {
  type ChatInputCommandInteraction,
  type InteractionReplyOptions,
  MessageFlags,
  type RepliableInteraction,
} from "discord.js";
import { MissionControlError } from "../shared/errors.ts";
import type { Tenant } from "../tasks/tenant.ts";

export const EPHEMERAL = MessageFlags.Ephemeral;

/** Replies privately, whether or not the interaction was already deferred or answered. */
export async function replyPrivately(
  interaction: RepliableInteraction,
  options: InteractionReplyOptions,
): Promise<void> {
  const body = { ...options, allowedMentions: { parse: [] } };
  if (interaction.deferred) await interaction.editReply(body as never);
  else if (interaction.replied) await interaction.followUp({ ...body, flags: EPHEMERAL });
  else await interaction.reply({ ...body, flags: EPHEMERAL });
}

export function replyError(interaction: RepliableInteraction, message: string): Promise<void> {
  return replyPrivately(interaction, { content: `❌ ${message}`, embeds: [], components: [] });
}

/** A required string option, trimmed. */
export const text = (i: ChatInputCommandInteraction, name: string) =>
  i.options.getString(name, true).trim();

/** The server an interaction came from: its tenant (commands work only in servers). */
export function guildOf(interaction: Interaction): Tenant {
  if (!interaction.guildId) throw new MissionControlError("This works in a server, not in DMs.");
  return interaction.guildId;
}
