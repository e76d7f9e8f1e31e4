import { createHash } from "node:crypto";
import { type Client, DiscordAPIError } from "discord.js";
import type { OutputSink, RunOutput } from "../outputs/sink.ts";
import type { Logger } from "../shared/logger.ts";
import type { DeliveryRecords } from "../store/delivery-records.ts";
import type { ServerService } from "../tasks/servers.ts";
import { LOCAL, recordKey } from "../tasks/tenant.ts";
import { zonedParts } from "../time/timezone.ts";
import { PostRefusedError } from "./errors.ts";
import { splitForDiscord } from "./markdown-split.ts";

const LATE_MS = 60_000;

/** A run posts at most this many messages; a flood helps nobody, and the file has it all. */
export const MAX_POSTS_PER_RUN = 10;

/** `folder`: where under outputs/ the run's output is saved (<server>/<task-id>). */
export function capped(chunks: string[], folder: string): string[] {
  if (chunks.length <= MAX_POSTS_PER_RUN) return chunks;
  const kept = chunks.slice(0, MAX_POSTS_PER_RUN - 1);
  const left = chunks.length - kept.length;
  return [
    ...kept,
    `_… and ${left} more messages, not posted to keep the channel readable: the whole output is saved in the data folder under outputs/${folder}/._`,
  ];
}

/** The same chunk of the same run gets the same nonce, so a retried POST is not posted twice. */
export function nonceFor(runId: string, chunk: number): string {
  return createHash("sha256").update(`${runId}#${chunk}`).digest("hex").slice(0, 25);
}

/** A post that starts more than a minute late says so: "scheduled 07:00, sent 09:12". */
export function withLateNote(output: RunOutput): string {
  const late = output.startedAt.getTime() - output.scheduledFor.getTime();
  if (late <= LATE_MS) return output.markdown;
  const zone = output.task.timezone;
  const at = (d: Date) => {
    const p = zonedParts(d.getTime(), zone);
    return p.date === zonedParts(output.startedAt.getTime(), zone).date
      ? p.time
      : `${p.date} ${p.time}`;
  };
  return `_(scheduled ${at(output.scheduledFor)}, sent ${at(output.startedAt)})_\n${output.markdown}`;
}

export function createChannelSink(deps: {
  client: Client;
  /** A task without a channel posts to its server's briefing channel, if it has one. */
  servers: Pick<ServerService, "settings">;
  journal: DeliveryRecords;
  log: Logger;
}): OutputSink {
  const { client, journal, log } = deps;
  return {
    name: "discord-channel",
    async publish(output) {
      const { task } = output;
      const channelId = task.channelId ?? deps.servers.settings(task.guildId).briefingChannelId;
      if (!channelId) {
        log.debug(
          { taskId: output.task.id },
          "no channel for this task: output saved to a file only",
        );
        return;
      }
      if (await journal.posted(output.runId)) {
        log.info(
          { runId: output.runId },
          "this run was already posted before a restart; not posting it again",
        );
        return;
      }
      try {
        const channel = await client.channels.fetch(channelId);
        if (!channel?.isSendable())
          throw new PostRefusedError(channelId, "not-text", "not a channel the bot can post in");
        // Checked again before each post: a task never posts into another server.
        if (!channel.isDMBased() && task.guildId !== LOCAL && channel.guildId !== task.guildId)
          throw new PostRefusedError(channelId, "other-server", "the channel is in another server");
        await journal.mark(output.runId, output.task.id, "posting", channelId);
        const chunks = capped(
          splitForDiscord(withLateNote(output)),
          recordKey(output.task.guildId, output.task.id),
        );
        for (const [n, content] of chunks.entries()) {
          await channel.send({
            content,
            nonce: nonceFor(output.runId, n),
            enforceNonce: true,
            allowedMentions: { parse: ["users"] },
          });
        }
        await journal.mark(output.runId, output.task.id, "posted", channelId);
      } catch (err) {
        if (err instanceof DiscordAPIError)
          throw new PostRefusedError(channelId, err.code, err.message);
        throw err;
      }
    },
  };
}
