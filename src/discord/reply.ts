import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  type ChatInputCommandInteraction,
  type InteractionReplyOptions,
  MessageFlags,
  type RepliableInteraction,
} from "discord.js";
import { PAGE_SIZE } from "./format.ts";

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

/** Prev / next buttons for `/task list`; their ids carry the page to show. */
export function pageButtons(page: number, total: number): ActionRowBuilder<ButtonBuilder>[] {
  const pages = Math.ceil(total / PAGE_SIZE);
  if (pages <= 1) return [];
  return [
    new ActionRowBuilder<ButtonBuilder>().addComponents(
      new ButtonBuilder()
        .setCustomId(`task-list:${page - 1}`)
        .setLabel("◀ Previous")
        .setStyle(ButtonStyle.Secondary)
        .setDisabled(page <= 0),
      new ButtonBuilder()
        .setCustomId(`task-list:${page + 1}`)
        .setLabel("Next ▶")
        .setStyle(ButtonStyle.Secondary)
        .setDisabled(page >= pages - 1),
    ),
  ];
}

/** A required string option, trimmed. */
export const text = (i: ChatInputCommandInteraction, name: string) =>
  i.options.getString(name, true).trim();
