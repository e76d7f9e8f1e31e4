import { join } from "node:path";
import { createCommands } from "../commands/index.ts";
import { type App, createApp } from "./app.ts";
import { taskList } from "./cli/format.ts";
import { processFiles } from "./control/api.ts";
import { startControlServer } from "./control/server.ts";
import { channelGuild } from "./discord/access.ts";
import { createDiscordClient, createDiscordSinks, startBot } from "./discord/bot.ts";
import { loadConfig } from "./shared/config.ts";
import { loadEnvFile } from "./shared/env-file.ts";
import { MissionControlError, StartupError } from "./shared/errors.ts";
import { createLogger } from "./shared/logger.ts";
import { DEFAULT_HANDLERS_DIR, loadHandlers } from "./tasks/handler.ts";
import { addStarterTasks } from "./tasks/starter-tasks.ts";
import { type Dashboard, startDashboard } from "./web/dashboard.ts";

// `npm start`: the process. Everything it runs is built by createApp.

/** Signals closer together than this are one stop, delivered twice. */
const SAME_STOP_MS = 2_000;
const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  loadEnvFile();
  const config = loadConfig(process.env);
  // Readable lines for a person at a terminal, JSON for anything else, unless LOG_FORMAT says.
  const log = createLogger(
    config.LOG_LEVEL,
    undefined,
    config.LOG_FORMAT ?? (process.stdout.isTTY ? "pretty" : "json"),
  );
  const client = config.DISCORD_TOKEN ? createDiscordClient(config) : null;
  const handlers = await loadHandlers(DEFAULT_HANDLERS_DIR);
  const app: App = await createApp({
    config,
    log,
    handlers,
    sinks: client ? (parts) => createDiscordSinks(client, log, parts) : [],
    gatewayPing: client ? () => client.ws.ping : undefined,
    channelGuild: client ? (id) => channelGuild(client, id) : undefined,
  });

  let dashboard: Dashboard | null = null;
  const control = await startControlServer(
    join(config.DATA_DIR, processFiles(config).socket),
    {
      tasks: app.service,
      items: app.items,
      servers: app.servers,
      retention: app.retention,
      dashboard: {
        loginLink() {
          if (dashboard) return dashboard.loginLink();
          throw new MissionControlError(
            "The dashboard is off (DASHBOARD_PORT=0, or it could not start: see the log).",
          );
        },
      },
    },
    log,
  );
  // A stray promise in a handler must not take every other task down with it.
  process.on("unhandledRejection", (err) => log.error({ err }, "unhandled rejection (ignored)"));
  // The scheduler's timer may be absent (no tasks) or far off; the process stays up regardless.
  const keepAlive = setInterval(() => {}, 1 << 30);
  let stopping = false;
  let stopAt = 0;
  const shutdown = async (signal: string) => {
    if (stopping) {
      // Ctrl-C in a terminal, or systemd, signals npm and node both, and npm passes its own on:
      // a signal within SAME_STOP_MS of the first is that same stop. A later one (a second
      // Ctrl-C) cuts the grace period short.
      if (performance.now() - stopAt < SAME_STOP_MS) return;
      process.exit(0);
    }
    stopping = true;
    stopAt = performance.now();
    clearInterval(keepAlive);
    log.info({ signal }, "shutting down: letting runs in progress finish");
    await control?.close().catch(() => {});
    await dashboard?.close().catch(() => {});
    await app.close(10_000).catch((err) => log.error({ err }, "error while shutting down"));
    await client?.destroy().catch(() => {});
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));

  if (app.store.created)
    await addStarterTasks(app.service, app.defaultTenant, config.ALERT_USER_ID ?? null);
  if (client && config.DISCORD_TOKEN) {
    // Connected before the scheduler starts, so the first runs can post.
    await startBot({
      client,
      token: config.DISCORD_TOKEN,
      config,
      service: app.service,
      items: app.items,
      servers: app.servers,
      commands: createCommands(handlers),
      log,
    }).catch(async (err) => {
      await control?.close().catch(() => {});
      await app.close(1000);
      await client.destroy().catch(() => {});
      throw new StartupError(
        `Could not connect to Discord: ${(err as Error).message}. Check DISCORD_TOKEN (and DISCORD_API_URL if set).`,
      );
    });
    const shard =
      config.SHARD_COUNT === undefined
        ? ""
        : ` (shard ${config.SHARD_ID} of ${config.SHARD_COUNT})`;
    say(
      `Mission Control is connected to Discord as ${client.user?.tag}${shard}; slash commands are registered ${config.DISCORD_GUILD_ID ? "to your server" : "globally"}.`,
    );
  }
  await app.scheduler.start();
  // Servers that removed the bot keep their data for SERVER_DATA_RETENTION_DAYS: checked now
  // and every hour.
  const purge = () =>
    void app.purgeRemovedServers().catch((err) => log.error({ err }, "purging servers failed"));
  purge();
  setInterval(purge, 3_600_000).unref();
  // Log days, delivery records and outputs older than RETENTION_DAYS: now and once a day.
  const cleanup = () =>
    void app.retention
      .cleanup()
      .then((report) => {
        const files = report.removed.length;
        if (files)
          log.info({ kinds: report.kinds }, `removed ${files} files older than RETENTION_DAYS`);
      })
      .catch((err) => log.error({ err }, "removing old log days and outputs failed"));
  cleanup();
  setInterval(cleanup, 86_400_000).unref();
  if (!config.DISCORD_TOKEN) {
    say(
      `Mission Control is running headless (no DISCORD_TOKEN): tasks run on schedule; outputs go to ${join(config.DATA_DIR, "outputs")} and the log.`,
    );
  }
  if (app.store.created) {
    say(
      `Created ${app.store.file} with the starter tasks. Change them with the CLI, e.g. npm run cli -- tasks edit daily-briefing --schedule "daily 07:30"`,
    );
  }
  say(taskList(app.service.overview(app.defaultTenant)));
  if (config.DASHBOARD_PORT !== 0) {
    dashboard = await startDashboard({ config, app, client, log }).catch((err) => {
      log.error({ err }, "the dashboard could not start");
      say(
        `The dashboard did not start (${(err as Error).message}); set DASHBOARD_PORT to a free port, or 0 to turn it off.`,
      );
      return null;
    });
    if (dashboard)
      say(
        `Dashboard: ${dashboard.url} — log in with this one-time link (15 minutes): ${dashboard.loginLink()}`,
      );
  }
}

main().catch((err) => {
  console.error(err instanceof StartupError ? err.message : err);
  process.exit(1);
});
