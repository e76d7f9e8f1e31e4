import {
  type ChatInputCommandInteraction,
  InteractionContextType,
  PermissionFlagsBits,
  SlashCommandBuilder,
  type SlashCommandSubcommandBuilder,
} from "discord.js";
import { channelProblem } from "../src/discord/access.ts";
import { pageButtons } from "../src/discord/buttons.ts";
import type { Command, CommandContext } from "../src/discord/command.ts";
import { historyEmbed, listEmbed, taskEmbed } from "../src/discord/format.ts";
import { splitForDiscord } from "../src/discord/markdown-split.ts";
import { EPHEMERAL, guildOf, replyPrivately, text } from "../src/discord/reply.ts";
import { addTaskOptions, patchFromOptions } from "../src/discord/task-options.ts";
import { type CommandOption, commandOptions, type Handler } from "../src/tasks/handler.ts";

// /task: add, list, show, edit, enable, disable, delete, run, skip, history.

const withId = (s: SlashCommandSubcommandBuilder) =>
  s.addStringOption((o) =>
    o.setName("id").setDescription("task id").setRequired(true).setAutocomplete(true),
  );

function definition(handlerOptions: CommandOption[]) {
  return new SlashCommandBuilder()
    .setName("task")
    .setDescription("Manage Mission Control's scheduled tasks")
    .setContexts(InteractionContextType.Guild)
    .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
    .addSubcommand((s) =>
      addTaskOptions(
        s
          .setName("add")
          .setDescription("add a task")
          .addStringOption((o) =>
            o
              .setName("id")
              .setDescription("a short id: lowercase letters, digits, - or _ (e.g. morning-news)")
              .setRequired(true)
              .setMaxLength(64),
          ),
        true,
        handlerOptions,
      ),
    )
    .addSubcommand((s) => s.setName("list").setDescription("every task with its next run"))
    .addSubcommand((s) => withId(s.setName("show").setDescription("one task in full")))
    .addSubcommand((s) =>
      addTaskOptions(
        withId(s.setName("edit").setDescription("change a task; only the options given change")),
        false,
        handlerOptions,
      ),
    )
    .addSubcommand((s) => withId(s.setName("enable").setDescription("enable a task")))
    .addSubcommand((s) => withId(s.setName("disable").setDescription("disable a task")))
    .addSubcommand((s) => withId(s.setName("delete").setDescription("delete a task")))
    .addSubcommand((s) =>
      withId(s.setName("run").setDescription("run a task now")).addBooleanOption((o) =>
        o
          .setName("dry_run")
          .setDescription("show the output to you only: nothing posted, logged or counted"),
      ),
    )
    .addSubcommand((s) => withId(s.setName("skip").setDescription("skip the next run only")))
    .addSubcommand((s) =>
      withId(
        s
          .setName("history")
          .setDescription("success rate, lateness, p95 duration, recent attempts"),
      ).addIntegerOption((o) =>
        o.setName("limit").setDescription("attempts to show (1-25)").setMinValue(1).setMaxValue(25),
      ),
    )
    .toJSON();
}

async function addOrEdit(
  i: ChatInputCommandInteraction,
  ctx: CommandContext,
  adding: boolean,
  handlerOptions: CommandOption[],
): Promise<void> {
  const { service, client, servers } = ctx;
  const tenant = guildOf(i);
  const id = text(i, "id");
  const task = adding
    ? await service.addTask(
        tenant,
        { ...patchFromOptions(i, handlerOptions), id } as never,
        i.user.id,
      )
    : await service.editTask(
        tenant,
        id,
        patchFromOptions(i, handlerOptions, service.getTask(tenant, id).options),
      );
  const channelId = task.channelId ?? servers.settings(tenant).briefingChannelId;
  const warning = channelId
    ? await channelProblem(client, channelId)
    : "No channel: set one with `channel`, or this server's with `/settings set briefing_channel`, or outputs are only saved to files.";
  const embed = taskEmbed(
    task,
    service.upcomingRuns(tenant, task.id, 3),
    `${adding ? "Added" : "Updated"} ${task.id}`,
  );
  await replyPrivately(i, { content: warning ? `⚠️ ${warning}` : undefined, embeds: [embed] });
}

async function run(i: ChatInputCommandInteraction, { service }: CommandContext): Promise<void> {
  const tenant = guildOf(i);
  const id = text(i, "id");
  const dryRun = i.options.getBoolean("dry_run") ?? false;
  service.getTask(tenant, id);
  await i.deferReply({ flags: EPHEMERAL });
  const result = await service.runNow(tenant, id, { dryRun });
  const summary = `${result.status === "success" ? "✅" : "❌"} \`${id}\` ${dryRun ? "dry run" : "run"}: ${result.status} after ${result.attempts} attempt${result.attempts === 1 ? "" : "s"} (${result.durationMs} ms)${result.error ? ` — ${result.error.slice(0, 300)}` : ""}`;
  if (!dryRun || !result.output) {
    await i.editReply({
      content: result.output || result.status !== "success" ? summary : `${summary}, no output`,
      allowedMentions: { parse: [] },
    });
    return;
  }
  const [first, ...rest] = splitForDiscord(`${summary}\n\n${result.output}`);
  await i.editReply({ content: first ?? summary, allowedMentions: { parse: [] } });
  for (const chunk of rest)
    await i.followUp({ content: chunk, flags: EPHEMERAL, allowedMentions: { parse: [] } });
}

/** /task, with an option of its own for each handler option that asks for one. */
export function createTaskCommand(handlers: readonly Handler[]): Command {
  const handlerOptions = commandOptions(handlers);
  return {
    data: definition(handlerOptions),
    async execute(i, ctx) {
      const tenant = guildOf(i);
      const { service } = ctx;
      switch (i.options.getSubcommand()) {
        case "add":
          return addOrEdit(i, ctx, true, handlerOptions);
        case "edit":
          return addOrEdit(i, ctx, false, handlerOptions);
        case "list": {
          const rows = service.overview(tenant);
          return replyPrivately(i, {
            embeds: [listEmbed(rows, 0)],
            components: pageButtons(0, rows.length),
          });
        }
        case "show": {
          const id = text(i, "id");
          return replyPrivately(i, {
            embeds: [taskEmbed(service.getTask(tenant, id), service.upcomingRuns(tenant, id, 3))],
          });
        }
        case "enable":
        case "disable": {
          const enabled = i.options.getSubcommand() === "enable";
          const task = await service.setEnabled(tenant, text(i, "id"), enabled);
          const next = service.upcomingRuns(tenant, task.id, 3);
          return replyPrivately(i, {
            embeds: [taskEmbed(task, next, `${enabled ? "Enabled" : "Disabled"} ${task.id}`)],
          });
        }
        case "delete": {
          const task = await service.deleteTask(tenant, text(i, "id"));
          return replyPrivately(i, {
            content: `🗑️ Deleted \`${task.id}\`. Its log and saved outputs stay in the data folder.`,
          });
        }
        case "skip": {
          const id = text(i, "id");
          const next = service.nextRun(tenant, id);
          await service.skipNext(tenant, id);
          return replyPrivately(i, {
            content: `⏭️ The next run of \`${id}\`${next ? ` (<t:${Math.floor(next.getTime() / 1000)}:f>)` : ""} will be skipped; later runs go on as usual.`,
          });
        }
        case "run":
          return run(i, ctx);
        case "history": {
          // It reads the disk: answered within Discord's 3 s, whatever the disk is doing.
          await i.deferReply({ flags: EPHEMERAL });
          const report = await service.history(
            tenant,
            text(i, "id"),
            i.options.getInteger("limit") ?? 10,
          );
          return replyPrivately(i, { embeds: [historyEmbed(report)] });
        }
      }
    },
    async autocomplete(i, { service }) {
      const tenant = guildOf(i);
      const focused = i.options.getFocused(true);
      const typed = String(focused.value).toLowerCase();
      const pool =
        focused.name === "handler"
          ? service.handlerNames()
          : focused.name === "timezone"
            ? Intl.supportedValuesOf("timeZone")
            : service.overview(tenant).map((r) => r.task.id);
      const starts = pool.filter((v) => v.toLowerCase().startsWith(typed));
      const contains = pool.filter(
        (v) => !v.toLowerCase().startsWith(typed) && v.toLowerCase().includes(typed),
      );
      await i.respond([...starts, ...contains].slice(0, 25).map((v) => ({ name: v, value: v })));
    },
  };
}
