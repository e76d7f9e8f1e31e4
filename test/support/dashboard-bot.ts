import { join } from "node:path";
import type { FakeDiscord } from "./fake-discord.ts";
import { freePort, type Proc, startMain } from "./process.ts";

/**
 * The bot (src/main.ts) on the fake Discord, with its dashboard on a free port and "Log in with
 * Discord" through the fake's OAuth2 pages; resolved once the dashboard is up.
 */
export async function startDashboardBot(
  discord: FakeDiscord,
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ bot: Proc; dash: string }> {
  const port = await freePort();
  const bot = startMain(cwd, {
    DISCORD_TOKEN: discord.token,
    DISCORD_API_URL: discord.url,
    DISCORD_WEB_URL: discord.webUrl,
    DISCORD_CLIENT_SECRET: discord.clientSecret,
    DATA_DIR: join(cwd, "data"),
    DEFAULT_TIMEZONE: "UTC",
    DASHBOARD_PORT: String(port),
    ...env,
  });
  await bot.waitFor(/Dashboard: /, 30_000);
  return { bot, dash: `http://127.0.0.1:${port}` };
}
