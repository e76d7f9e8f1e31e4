import {
  ChannelType,
  EmbedBuilder,
  InteractionContextType,
  PermissionFlagsBits,
  SlashCommandBuilder,
} from "discord.js";
import type { Command } from "../src/discord/command.ts";
import { COLORS } from "../src/discord/format.ts";
import { guildOf, replyPrivately } from "../src/discord/reply.ts";
import type { EffectiveSettings, SettingsPatch } from "../src/tasks/servers.ts";
import { STARTER_TASKS } from "../src/tasks/starter-tasks.ts";

const STARTER_IDS = new Set(STARTER_TASKS.map((t) => t.id));

// /settings: this server's defaults — where outputs go, the tasks' time zone, who else gets
// failure DMs, and a role whose members may manage tasks besides Manage Server.

const RESETS = {
  briefing_channel: "briefingChannelId",
  timezone: "timezone",
  alert_user: "alertUserId",
  manager_role: "managerRoleId",
} as const satisfies Record<string, keyof SettingsPatch>;

const data = new SlashCommandBuilder()
  .setName("settings")
  .setDescription("This server's Mission Control settings")
  .setContexts(InteractionContextType.Guild)
  .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
  .addSubcommand((s) => s.setName("show").setDescription("this server's settings"))
  .addSubcommand((s) =>
    s
      .setName("set")
      .setDescription("change this server's settings; only the options given change")
      .addChannelOption((o) =>
        o
          .setName("briefing_channel")
          .setDescription("where outputs go when a task names no channel")
          .addChannelTypes(ChannelType.GuildText, ChannelType.GuildAnnouncement),
      )
      .addStringOption((o) =>
        o
          .setName("timezone")
          .setDescription("IANA time zone for new tasks, e.g. Europe/Paris")
          .setAutocomplete(true)
          .setMaxLength(64),
      )
      .addUserOption((o) =>
        o.setName("alert_user").setDescription("who else gets a DM when a task fails for good"),
      )
      .addRoleOption((o) =>
        o.setName("manager_role").setDescription("members with this role may manage tasks"),
      )
      .addStringOption((o) =>
        o
          .setName("reset")
          .setDescription("set one back to its default")
          .addChoices(...Object.keys(RESETS).map((name) => ({ name, value: name }))),
      ),
  )
  .toJSON();

function settingsEmbed(s: EffectiveSettings, title: string): EmbedBuilder {
  return new EmbedBuilder()
    .setTitle(title)
    .setColor(COLORS.info)
    .addFields(
      {
        name: "Briefing channel",
        value: s.briefingChannelId ? `<#${s.briefingChannelId}>` : "none: outputs are only saved",
        inline: true,
      },
      { name: "Time zone", value: s.timezone, inline: true },
      {
        name: "Alert user",
        value: s.alertUserId ? `<@${s.alertUserId}>` : "only each task's owner",
        inline: true,
      },
      {
        name: "Manager role",
        value: s.managerRoleId ? `<@&${s.managerRoleId}>` : "none: Manage Server only",
        inline: true,
      },
    );
}

export default {
  data,
  async execute(i, { servers, service }) {
    const tenant = guildOf(i);
    if (i.options.getSubcommand() === "show") {
      return replyPrivately(i, { embeds: [settingsEmbed(servers.settings(tenant), "Settings")] });
    }
    const patch: SettingsPatch = {};
    const channel = i.options.getChannel("briefing_channel");
    if (channel) patch.briefingChannelId = channel.id;
    const timezone = i.options.getString("timezone");
    if (timezone !== null) patch.timezone = timezone;
    const user = i.options.getUser("alert_user");
    if (user) patch.alertUserId = user.id;
    const role = i.options.getRole("manager_role");
    if (role) patch.managerRoleId = role.id;
    const reset = i.options.getString("reset") as keyof typeof RESETS | null;
    if (reset) patch[RESETS[reset]] = null;
    if (!Object.keys(patch).length) {
      return replyPrivately(i, {
        content: "❌ Nothing to change: give at least one option, e.g. `briefing_channel`.",
      });
    }
    const now = await servers.setSettings(tenant, patch);
    // The starter tasks wait, disabled, for somewhere to post: say how to start them.
    const waiting = service
      .listTasks(tenant)
      .filter((t) => STARTER_IDS.has(t.id) && !t.enabled && t.history.totalRuns === 0);
    const hint =
      now.briefingChannelId && waiting.length
        ? `Outputs now go to <#${now.briefingChannelId}>. Start the starter tasks with ${waiting.map((t) => `\`/task enable id:${t.id}\``).join(", ")}.`
        : undefined;
    return replyPrivately(i, { content: hint, embeds: [settingsEmbed(now, "Settings updated")] });
  },
  async autocomplete(i) {
    const typed = String(i.options.getFocused()).toLowerCase();
    const zones = Intl.supportedValuesOf("timeZone").filter((z) => z.toLowerCase().includes(typed));
    await i.respond(zones.slice(0, 25).map((z) => ({ name: z, value: z })));
  },
} satisfies Command;
