import {
  type ChatInputCommandInteraction,
  type InteractionReplyOptions,
  MessageFlags,
  type RepliableInteraction,
} from "discord.js";

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
