import { type Client, Events, type Guild, ShardClientUtil } from "discord.js";
import type { Config } from "../shared/config.ts";
import type { Logger } from "../shared/logger.ts";
import type { ServerService } from "../tasks/servers.ts";
import { addStarterTasks } from "../tasks/starter-tasks.ts";
import type { TaskService } from "../tasks/task-service.ts";
import { LOCAL } from "../tasks/tenant.ts";

// Servers come and go: the bot is invited (starter tasks, disabled until the server has a
// briefing channel), removed (its tasks stop; its data is kept SERVER_DATA_RETENTION_DAYS and
// comes back on a re-invite), or, with ALLOWED_GUILD_IDS, refused. An outage is not a removal:
// discord.js reports it as an unavailable guild, and that changes nothing.

export interface LifecycleDeps {
  client: Client;
  config: Pick<Config, "ALLOWED_GUILD_IDS">;
  servers: ServerService;
  service: TaskService;
  log: Logger;
  now: () => number;
}

export function followServers(deps: LifecycleDeps): { reconcile(): Promise<void> } {
  const { client, config, servers, service, log } = deps;
  const allowed = (id: string) =>
    !config.ALLOWED_GUILD_IDS.length || config.ALLOWED_GUILD_IDS.includes(id);
  /** A server this client's shards hear of: another shard's is not missing, only elsewhere. */
  const ours = (id: string) => {
    const { shards, shardCount } = client.options;
    return (
      !Array.isArray(shards) ||
      shards.includes(ShardClientUtil.shardIdForGuildId(id, shardCount ?? 1))
    );
  };

  async function refuse(guild: Guild): Promise<void> {
    log.warn({ guildId: guild.id }, "not in ALLOWED_GUILD_IDS: leaving the server");
    await client.users
      .send(guild.ownerId, {
        content: `👋 Mission Control only serves the servers its operator chose, so it is leaving **${guild.name}**. Nothing was stored.`,
        allowedMentions: { parse: [] },
      })
      .catch((err) => log.warn({ err, guildId: guild.id }, "could not tell the server's owner"));
    await guild.leave().catch((err) => log.error({ err, guildId: guild.id }, "could not leave"));
  }

  async function welcome(guild: Guild): Promise<void> {
    if (!allowed(guild.id)) return refuse(guild);
    const state = await servers.joined(guild.id);
    if (state === "known") return;
    if (state === "new") {
      // Disabled until the server has somewhere to post: `/settings set` says how to enable.
      const ready = servers.settings(guild.id).briefingChannelId !== null;
      await addStarterTasks(service, guild.id, guild.ownerId ?? null, { enabled: ready });
    }
    log.info({ guildId: guild.id, state }, state === "new" ? "joined a server" : "invited back");
  }

  const report = (what: string) => (err: unknown) => log.error({ err }, what);
  client.on(Events.GuildCreate, (guild) => void welcome(guild).catch(report("joining failed")));
  // A removal only: discord.js reports an outage (an unavailable guild) as GuildUnavailable.
  client.on(Events.GuildDelete, (guild) => {
    log.info({ guildId: guild.id }, "removed from a server: its tasks stop, its data is kept");
    void servers.removed(guild.id, deps.now()).catch(report("could not record a removal"));
  });

  return {
    /** At start: the servers joined or left while the bot was stopped. */
    async reconcile() {
      for (const guild of client.guilds.cache.values()) await welcome(guild);
      for (const { tenant } of servers.servers()) {
        if (tenant !== LOCAL && ours(tenant) && !client.guilds.cache.has(tenant)) {
          await servers.removed(tenant, deps.now());
        }
      }
    },
  };
}
