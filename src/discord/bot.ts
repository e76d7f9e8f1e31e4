import { once } from "node:events";
import { Client, Events, GatewayIntentBits } from "discord.js";
import type { OutputSink } from "../outputs/sink.ts";
import type { Config } from "../shared/config.ts";
import type { Logger } from "../shared/logger.ts";
import type { DeliveryRecords } from "../store/delivery-records.ts";
import type { ItemService } from "../tasks/items.ts";
import type { ServerService } from "../tasks/servers.ts";
import type { TaskService } from "../tasks/task-service.ts";
import { channelGuild } from "./access.ts";
import { createAlertSink } from "./alert-sink.ts";
import { createChannelSink } from "./channel-sink.ts";
import type { Command } from "./command.ts";
import { createInteractionHandler } from "./interactions.ts";
import { registerCommands } from "./register.ts";
import { followServers } from "./server-lifecycle.ts";

// The Discord side: one client with the least intents it needs (Guilds: servers and channels
// for permission checks; interactions and DMs we send need none), its sinks, and its start.

export function createDiscordClient(
  config: Pick<Config, "DISCORD_API_URL" | "SHARD_ID" | "SHARD_COUNT">,
): Client {
  return new Client({
    intents: [GatewayIntentBits.Guilds],
    // The gateway URL is then discovered through this REST base (GET /gateway/bot).
    rest: config.DISCORD_API_URL ? { api: config.DISCORD_API_URL } : {},
    // One shard of several processes: Discord sends it only the events of its own servers.
    ...(config.SHARD_ID !== undefined && config.SHARD_COUNT !== undefined
      ? { shards: [config.SHARD_ID], shardCount: config.SHARD_COUNT }
      : {}),
  });
}

/** The channel and DM sinks. */
export function createDiscordSinks(
  client: Client,
  log: Logger,
  { servers, deliveries }: { servers: ServerService; deliveries: DeliveryRecords },
): OutputSink[] {
  return [
    createChannelSink({ client, servers, journal: deliveries, log }),
    createAlertSink({ client, servers, log }),
  ];
}

/** Logs in, waits for the gateway to be ready, registers the commands, starts answering. */
export async function startBot(deps: {
  client: Client;
  token: string;
  config: Config;
  service: TaskService;
  items: ItemService;
  servers: ServerService;
  commands: Command[];
  log: Logger;
  now?: () => number;
}): Promise<void> {
  const { client, config, log } = deps;
  const handle = createInteractionHandler(deps.commands, {
    service: deps.service,
    items: deps.items,
    servers: deps.servers,
    config,
    client,
    log,
  });
  client.on(Events.InteractionCreate, (interaction) => void handle(interaction));
  client.on(Events.Error, (err) => log.error({ err }, "Discord client error"));
  client.on(Events.ShardDisconnect, (_event, shard) =>
    log.warn({ shard }, "gateway disconnected; reconnecting"),
  );
  client.on(Events.ShardResume, (shard) => log.info({ shard }, "gateway resumed"));
  const lifecycle = followServers({
    client,
    config,
    servers: deps.servers,
    service: deps.service,
    log,
    now: deps.now ?? Date.now,
  });
  const ready = once(client, Events.ClientReady);
  await client.login(deps.token);
  await ready;
  if (!client.isReady()) throw new Error("the Discord client did not become ready");
  log.info(
    { user: client.user.tag, guilds: client.guilds.cache.size, shard: config.SHARD_ID },
    "connected to Discord",
  );
  // After an upgrade without DISCORD_GUILD_ID, tasks move to their channel's server first, so
  // that server is not taken for a new one.
  const moved = await deps.servers.rehome((id) => channelGuild(client, id));
  if (moved) log.info({ moved }, "moved upgraded tasks to the servers of their channels");
  await lifecycle.reconcile();
  // Commands registered earlier keep working, so a failure here is not a reason to stop.
  await registerCommands(
    client.rest,
    client.application.id,
    deps.commands,
    config.DISCORD_GUILD_ID,
    log,
  ).catch((err) =>
    log.error({ err }, "could not register the slash commands; try npm run deploy-commands"),
  );
}
