import {
  EmbedBuilder,
  InteractionContextType,
  PermissionFlagsBits,
  SlashCommandBuilder,
} from "discord.js";
import type { Command } from "../src/discord/command.ts";
import { COLORS } from "../src/discord/format.ts";
import { byNumber, replyPrivately } from "../src/discord/reply.ts";

// /goal: the goals the daily briefing lists.

const data = new SlashCommandBuilder()
  .setName("goal")
  .setDescription("Goals shown in the daily briefing")
  .setContexts(InteractionContextType.Guild)
  .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
  .addSubcommand((s) =>
    s
      .setName("add")
      .setDescription("add a goal")
      .addStringOption((o) =>
        o
          .setName("text")
          .setDescription("the goal, e.g. Ship v1")
          .setRequired(true)
          .setMaxLength(500),
      ),
  )
  .addSubcommand((s) => s.setName("list").setDescription("active goals"))
  .addSubcommand(byNumber("done", "mark a goal done", "goal"))
  .addSubcommand(byNumber("remove", "remove a goal", "goal"))
  .toJSON();

export default {
  data,
  async execute(i, { service }) {
    switch (i.options.getSubcommand()) {
      case "add": {
        const goal = await service.addGoal(i.options.getString("text", true));
        return replyPrivately(i, { content: `🎯 Added goal **#${goal.id}**: ${goal.text}` });
      }
      case "list": {
        const goals = service.listGoals();
        const embed = new EmbedBuilder()
          .setTitle(`Goals (${goals.length})`)
          .setColor(COLORS.info)
          .setDescription(
            goals
              .map((g) => `**#${g.id}** ${g.text}`)
              .join("\n")
              .slice(0, 4000) || "No active goals. Add one with `/goal add`.",
          );
        return replyPrivately(i, { embeds: [embed] });
      }
      case "done": {
        const goal = await service.completeGoal(i.options.getInteger("id", true));
        return replyPrivately(i, { content: `✅ Done: **#${goal.id}** ${goal.text}` });
      }
      case "remove": {
        const goal = await service.removeGoal(i.options.getInteger("id", true));
        return replyPrivately(i, { content: `🗑️ Removed goal **#${goal.id}**: ${goal.text}` });
      }
    }
  },
} satisfies Command;
