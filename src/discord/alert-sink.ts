import { type Client, EmbedBuilder, RESTJSONErrorCodes } from "discord.js";
import type { OutputSink, RunFailure } from "../outputs/sink.ts";
import type { Logger } from "../shared/logger.ts";
import type { Task } from "../tasks/model.ts";
import type { ServerService } from "../tasks/servers.ts";
import { LOCAL } from "../tasks/tenant.ts";
import { alertButtons } from "./buttons.ts";
import { isDiscordError } from "./errors.ts";
import { COLORS, when } from "./format.ts";

// DMs to the task's owner and ALERT_USER_ID when a run fails for good (once per incident: the
// runner calls `alert` only on the first failure after a success), and when it recovers.

export function createAlertSink(deps: {
  client: Client;
  /** Who else gets a server's failure alerts: its alert_user setting. */
  servers: Pick<ServerService, "settings">;
  log: Logger;
}): OutputSink {
  const { client, servers, log } = deps;
  const recipients = (task: Task) => [
    ...new Set(
      [task.ownerId, servers.settings(task.guildId).alertUserId].filter((id): id is string => !!id),
    ),
  ];

  /** A DM arrives outside any server: it says which one the task is in. */
  const serverName = (tenant: string) =>
    tenant === LOCAL ? "local" : (client.guilds.cache.get(tenant)?.name ?? `server ${tenant}`);

  async function dm(
    userId: string,
    taskId: string,
    message: Parameters<import("discord.js").User["send"]>[0],
  ) {
    try {
      // Straight to the DM channel: no need to fetch the user first.
      await client.users.send(userId, message);
    } catch (err) {
      if (isDiscordError(err, RESTJSONErrorCodes.CannotSendMessagesToThisUser)) {
        log.warn(
          { userId, taskId },
          "an alert DM could not be delivered: the user does not accept DMs from the bot (50007)",
        );
      } else {
        log.error({ err, userId, taskId }, "an alert DM could not be delivered");
      }
    }
  }

  return {
    name: "discord-dm",
    async alert(failure: RunFailure) {
      const embed = new EmbedBuilder()
        .setTitle(`❌ Task ${failure.task.id} failed in ${serverName(failure.task.guildId)}`)
        .setColor(COLORS.error)
        .setDescription(`\`\`\`\n${failure.error.slice(0, 1500)}\n\`\`\``)
        .addFields(
          { name: "Attempts", value: String(failure.attempts), inline: true },
          { name: "Scheduled for", value: when(failure.scheduledFor), inline: true },
          {
            name: "Next run",
            value: failure.nextRun ? when(failure.nextRun) : "none scheduled",
            inline: true,
          },
        )
        .setFooter({ text: "You get one alert per incident, and a note when it recovers." });
      for (const userId of recipients(failure.task)) {
        await dm(userId, failure.task.id, {
          embeds: [embed],
          components: [alertButtons(failure.task.guildId, failure.task.id)],
          allowedMentions: { parse: [] },
        });
      }
    },
    async recovered(task: Task) {
      for (const userId of recipients(task)) {
        await dm(userId, task.id, {
          content: `✅ Task \`${task.id}\` has recovered (${serverName(task.guildId)}): its last run succeeded.`,
          allowedMentions: { parse: [] },
        });
      }
    },
  };
}
