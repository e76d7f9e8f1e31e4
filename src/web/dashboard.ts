import { type Client, Status } from "discord.js";
import type { FastifyInstance } from "fastify";
import type { App } from "../app.ts";
import { discordAccess } from "../discord/dashboard-access.ts";
import { BriefingArchive } from "../outputs/briefing-archive.ts";
import type { Config } from "../shared/config.ts";
import type { Logger } from "../shared/logger.ts";
import { operatorAccess } from "./access.ts";
import { DiscordOAuth } from "./oauth.ts";
import { createWebServer } from "./server.ts";
import { LocalLogins, SessionStore } from "./sessions.ts";

// The dashboard inside the bot's process: built from the app's services and, when connected,
// the Discord client (live permission checks, "Log in with Discord").

export interface Dashboard {
  /** Where browsers reach it (PUBLIC_URL, else the address it listens on). */
  readonly url: string;
  /** A new one-time login link for the operator. */
  loginLink(): string;
  /** The HTTP server (tests use its inject()). */
  server: FastifyInstance;
  /** Starts listening on DASHBOARD_HOST:DASHBOARD_PORT. */
  listen(): Promise<void>;
  close(): Promise<void>;
}

export type DashboardConfig = Pick<
  Config,
  | "DATA_DIR"
  | "DASHBOARD_HOST"
  | "DASHBOARD_PORT"
  | "PUBLIC_URL"
  | "DISCORD_CLIENT_SECRET"
  | "DISCORD_API_URL"
  | "DISCORD_WEB_URL"
  | "METRICS_TOKEN"
  | "ADMIN_USER_IDS"
>;

export interface DashboardOptions {
  config: DashboardConfig;
  app: App;
  client: Client | null;
  log: Logger;
  now?: () => number;
}

/** Builds the dashboard; it serves nothing until listen(). */
export async function createDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const { config, app, client, log } = opts;
  const now = opts.now ?? Date.now;
  const host = config.DASHBOARD_HOST.includes(":")
    ? `[${config.DASHBOARD_HOST}]`
    : config.DASHBOARD_HOST;
  let url = config.PUBLIC_URL ?? `http://${host}:${config.DASHBOARD_PORT}`;
  const oauth =
    client && config.DISCORD_CLIENT_SECRET
      ? new DiscordOAuth({
          clientId: () => client.application?.id ?? client.user?.id ?? "",
          clientSecret: config.DISCORD_CLIENT_SECRET,
          apiUrl: config.DISCORD_API_URL ?? "https://discord.com/api",
          webUrl: config.DISCORD_WEB_URL ?? "https://discord.com",
          redirectUri: () => `${url}/auth/callback`,
          now,
        })
      : null;
  const logins = new LocalLogins(now);
  const server = await createWebServer({
    tasks: app.service,
    items: app.items,
    servers: app.servers,
    access: client ? discordAccess(client, config, app.servers) : operatorAccess(app.servers),
    briefings: new BriefingArchive(config.DATA_DIR),
    metrics: app.metrics,
    health: () => ({
      discord: client ? gatewayConnected(client) : null,
      scheduler: app.scheduler.running,
    }),
    oauth,
    logins,
    sessions: new SessionStore(now),
    now,
    log,
    secureCookies: url.startsWith("https:"),
    metricsToken: config.METRICS_TOKEN,
  });
  return {
    get url() {
      return url;
    },
    loginLink: () => `${url}/login/local?token=${logins.issue()}`,
    server,
    async listen() {
      await server.listen({ host: config.DASHBOARD_HOST, port: config.DASHBOARD_PORT });
      if (!config.PUBLIC_URL) {
        // Port 0 (tests): the port the system chose.
        const address = server.server.address();
        if (address && typeof address === "object") url = `http://${host}:${address.port}`;
      }
    },
    close: () => server.close(),
  };
}

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const dashboard = await createDashboard(opts);
  await dashboard.listen();
  return dashboard;
}

/** Every shard's gateway is up (the manager's own status stays Ready through a reconnect). */
function gatewayConnected(client: Client): boolean {
  const shards = client.ws.shards;
  return client.isReady() && shards.size > 0 && shards.every((s) => s.status === Status.Ready);
}
