import {
  EmbedBuilder,
  InteractionContextType,
  PermissionFlagsBits,
  SlashCommandBuilder,
} from "discord.js";
import type { Command } from "../src/discord/command.ts";
import { COLORS } from "../src/discord/format.ts";
import { byNumber, replyPrivately } from "../src/discord/reply.ts";

// /reminder: reminders, optionally with a due date, that the daily briefing brings up.

const data = new SlashCommandBuilder()
  .setName("reminder")
  .setDescription("Reminders shown in the daily briefing when due")
  .setContexts(InteractionContextType.Guild)
  .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
  .addSubcommand((s) =>
    s
      .setName("add")
      .setDescription("add a reminder")
      .addStringOption((o) =>
        o.setName("text").setDescription("what to remember").setRequired(true).setMaxLength(500),
      )
      .addStringOption((o) =>
        o.setName("due").setDescription("due date, YYYY-MM-DD").setMaxLength(10),
      ),
  )
  .addSubcommand((s) => s.setName("list").setDescription("open reminders, soonest first"))
  .addSubcommand(byNumber("done", "mark a reminder done", "reminder"))
  .addSubcommand(byNumber("remove", "remove a reminder", "reminder"))
  .toJSON();

export default {
  data,
  async execute(i, { service }) {
    switch (i.options.getSubcommand()) {
      case "add": {
        const r = await service.addReminder(
          i.options.getString("text", true),
          i.options.getString("due"),
        );
        return replyPrivately(i, {
          content: `⏰ Added reminder **#${r.id}**${r.due ? ` (due ${r.due})` : ""}: ${r.text}`,
        });
      }
      case "list": {
        const reminders = service.listReminders();
        const embed = new EmbedBuilder()
          .setTitle(`Reminders (${reminders.length})`)
          .setColor(COLORS.info)
          .setDescription(
            reminders
              .map((r) => `**#${r.id}** ${r.due ? `\`${r.due}\` ` : ""}${r.text}`)
              .join("\n")
              .slice(0, 4000) || "No open reminders. Add one with `/reminder add`.",
          );
        return replyPrivately(i, { embeds: [embed] });
      }
      case "done": {
        const r = await service.completeReminder(i.options.getInteger("id", true));
        return replyPrivately(i, { content: `✅ Done: **#${r.id}** ${r.text}` });
      }
      case "remove": {
        const r = await service.removeReminder(i.options.getInteger("id", true));
        return replyPrivately(i, { content: `🗑️ Removed reminder **#${r.id}**: ${r.text}` });
      }
    }
  },
} satisfies Command;
