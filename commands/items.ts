import {
  EmbedBuilder,
  InteractionContextType,
  PermissionFlagsBits,
  SlashCommandBuilder,
  type SlashCommandSubcommandBuilder,
} from "discord.js";
import type { Command } from "../src/discord/command.ts";
import { COLORS } from "../src/discord/format.ts";
import { guildOf, replyPrivately } from "../src/discord/reply.ts";
import { ITEM_KINDS, type Item, type ItemKind } from "../src/tasks/items.ts";
import { dueWords } from "../src/time/relative.ts";
import { zonedParts } from "../src/time/timezone.ts";

// /goal and /reminder: the items the daily briefing lists. One definition for both kinds; a
// reminder also takes a due date.

const WORDS = {
  goal: {
    emoji: "🎯",
    command: "Goals shown in the daily briefing",
    text: "the goal, e.g. Ship v1",
    list: "active goals",
  },
  reminder: {
    emoji: "⏰",
    command: "Reminders shown in the daily briefing when due",
    text: "what to remember",
    list: "open reminders, soonest first",
  },
} as const;

const due = (item: Item) => ("due" in item ? item.due : null);

export function itemCommand(kind: ItemKind): Command {
  const { noun, plural, dated, open } = ITEM_KINDS[kind];
  const words = WORDS[kind];
  const byNumber = (name: string, description: string) => (s: SlashCommandSubcommandBuilder) =>
    s
      .setName(name)
      .setDescription(description)
      .addIntegerOption((o) =>
        o
          .setName("id")
          .setDescription(`the ${noun}'s number from /${noun} list`)
          .setRequired(true)
          .setMinValue(1),
      );
  const data = new SlashCommandBuilder()
    .setName(noun)
    .setDescription(words.command)
    .setContexts(InteractionContextType.Guild)
    .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
    .addSubcommand((s) => {
      s.setName("add")
        .setDescription(`add a ${noun}`)
        .addStringOption((o) =>
          o.setName("text").setDescription(words.text).setRequired(true).setMaxLength(500),
        );
      if (dated) {
        s.addStringOption((o) =>
          o.setName("due").setDescription("due date, YYYY-MM-DD").setMaxLength(10),
        );
      }
      return s;
    })
    .addSubcommand((s) => s.setName("list").setDescription(words.list))
    .addSubcommand(byNumber("done", `mark a ${noun} done`))
    .addSubcommand(byNumber("remove", `remove a ${noun}`))
    .toJSON();

  return {
    data,
    async execute(i, { items, servers }) {
      const tenant = guildOf(i);
      switch (i.options.getSubcommand()) {
        case "add": {
          const item = await items.addItem(
            tenant,
            kind,
            i.options.getString("text", true),
            dated ? i.options.getString("due") : undefined,
          );
          const when = due(item) ? ` (due ${due(item)})` : "";
          return replyPrivately(i, {
            content: `${words.emoji} Added ${noun} **#${item.id}**${when}: ${item.text}`,
          });
        }
        case "list": {
          const list = items.listItems(tenant, kind);
          const today = zonedParts(Date.now(), servers.settings(tenant).timezone).date;
          const lines = list.map((it) => {
            const date = due(it);
            const when = date ? `\`${date}\` (${dueWords(date, today)}) ` : "";
            return `**#${it.id}** ${when}${it.text}`;
          });
          const embed = new EmbedBuilder()
            .setTitle(`${plural[0]?.toUpperCase()}${plural.slice(1)} (${list.length})`)
            .setColor(COLORS.info)
            .setDescription(
              lines.join("\n").slice(0, 4000) ||
                `No ${open} ${plural}. Add one with \`/${noun} add\`.`,
            );
          return replyPrivately(i, { embeds: [embed] });
        }
        case "done": {
          const item = await items.completeItem(tenant, kind, i.options.getInteger("id", true));
          return replyPrivately(i, { content: `✅ Done: **#${item.id}** ${item.text}` });
        }
        case "remove": {
          const item = await items.removeItem(tenant, kind, i.options.getInteger("id", true));
          return replyPrivately(i, { content: `🗑️ Removed ${noun} **#${item.id}**: ${item.text}` });
        }
      }
    },
  };
}
