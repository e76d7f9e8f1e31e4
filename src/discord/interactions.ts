import { randomBytes } from "node:crypto";
import type { ButtonInteraction, Interaction } from "discord.js";
import { MissionControlError, NotFoundError } from "../shared/errors.ts";
import { LOCAL } from "../tasks/tenant.ts";
import { alertButtonRefusal, commandRefusal } from "./access.ts";
import { lastPage, pageButtons, parseButton } from "./buttons.ts";
import type { Command, CommandContext } from "./command.ts";
import { listEmbed } from "./format.ts";
import { EPHEMERAL, guildOf, replyError, replyPrivately } from "./reply.ts";

// Every interaction enters here: access is checked, then the command, autocomplete or button
// runs. A user error becomes a private reply; anything else is logged with an id the user sees.

export function createInteractionHandler(commands: Command[], ctx: CommandContext) {
  const byName = new Map(commands.map((c) => [c.data.name, c]));

  async function fail(interaction: Interaction, err: unknown): Promise<void> {
    if (!interaction.isRepliable()) return;
    if (err instanceof MissionControlError) return replyError(interaction, err.message);
    const errorId = randomBytes(4).toString("hex");
    ctx.log.error({ err, errorId, interactionId: interaction.id }, "an interaction failed");
    await replyError(
      interaction,
      `Something went wrong (error ${errorId}); the bot's log has the details.`,
    );
  }

  /** Who may use the commands here: checked live, with the server's manager role. */
  const refusal = (i: Interaction) =>
    commandRefusal(i, ctx.config, i.guildId ? ctx.servers.settings(i.guildId).managerRoleId : null);

  async function button(i: ButtonInteraction): Promise<void> {
    const { service, config } = ctx;
    const clicked = parseButton(i.customId);
    if (clicked.kind === "list") {
      const refused = refusal(i);
      if (refused) return replyError(i, refused);
      const rows = service.overview(guildOf(i));
      const page = Math.min(clicked.page, lastPage(rows.length));
      await i.update({
        embeds: [listEmbed(rows, page)],
        components: pageButtons(page, rows.length),
      });
      return;
    }
    if (clicked.kind !== "alert") return replyError(i, "This button is no longer supported.");
    const { action, taskId } = clicked;
    // A button from before servers were tenants acts on the tenant its task went to.
    const tenant = clicked.tenant ?? config.DISCORD_GUILD_ID ?? LOCAL;
    let task: ReturnType<typeof service.getTask>;
    try {
      task = service.getTask(tenant, taskId);
    } catch (err) {
      if (err instanceof NotFoundError)
        return replyError(i, `Task \`${taskId}\` no longer exists.`);
      throw err;
    }
    const alertUser = ctx.servers.settings(tenant).alertUserId;
    const refused = alertButtonRefusal(i.user.id, task, { ...config, ALERT_USER_ID: alertUser });
    if (refused) return replyError(i, refused);
    if (action === "disable") {
      if (!task.enabled)
        return replyPrivately(i, { content: `\`${taskId}\` is already disabled.` });
      await service.setEnabled(tenant, taskId, false);
      ctx.log.info({ taskId, userId: i.user.id }, "task disabled from an alert");
      return replyPrivately(i, {
        content: `⏸️ Disabled \`${taskId}\`. Enable it again with \`/task enable ${taskId}\`.`,
      });
    }
    await i.deferReply({ flags: EPHEMERAL });
    const result = await service.runNow(tenant, taskId);
    await i.editReply({
      content:
        result.status === "success"
          ? `✅ \`${taskId}\` ran again: success after ${result.attempts} attempt(s).`
          : `❌ \`${taskId}\` failed again after ${result.attempts} attempt(s): ${(result.error ?? "").slice(0, 300)}`,
      allowedMentions: { parse: [] },
    });
  }

  return async function handle(interaction: Interaction): Promise<void> {
    try {
      if (interaction.isChatInputCommand()) {
        const refused = refusal(interaction);
        if (refused) return await replyError(interaction, refused);
        const command = byName.get(interaction.commandName);
        if (!command)
          return await replyError(interaction, `Unknown command /${interaction.commandName}.`);
        await command.execute(interaction, ctx);
      } else if (interaction.isAutocomplete()) {
        if (refusal(interaction)) return await interaction.respond([]);
        await byName.get(interaction.commandName)?.autocomplete?.(interaction, ctx);
      } else if (interaction.isButton()) {
        await button(interaction);
      }
    } catch (err) {
      await fail(interaction, err).catch((e) =>
        ctx.log.error({ err: e }, "could not report an interaction error"),
      );
    }
  };
}
