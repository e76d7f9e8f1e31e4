import { join } from "node:path";
import { expect } from "vitest";
import type { FakeDiscord, User } from "./fake-discord.ts";
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

export const cookiesOf = (res: Response) =>
  res.headers
    .getSetCookie()
    .map((c) => c.split(";")[0] as string)
    .filter((c) => !c.endsWith("="));

/** Logs in to the dashboard at `dash` through the fake Discord's authorize page as `user`. */
export async function loginWithDiscord(
  discord: FakeDiscord,
  dash: string,
  user: User,
): Promise<string> {
  const begin = await fetch(`${dash}/login/discord`, { redirect: "manual" });
  expect(begin.status).toBe(302);
  const oauthCookie = cookiesOf(begin).join("; ");
  const page = await (await fetch(begin.headers.get("location") as string)).text();
  const request = /name="request" value="([^"]+)"/.exec(page)?.[1] as string;
  const back = await fetch(`${discord.webUrl}/oauth2/authorize`, {
    method: "POST",
    body: new URLSearchParams({ request, as: user.id }),
    redirect: "manual",
  });
  const callback = back.headers.get("location") as string;
  expect(callback.startsWith(`${dash}/auth/callback?`)).toBe(true);
  const done = await fetch(callback, { headers: { cookie: oauthCookie }, redirect: "manual" });
  expect(done.status, await done.clone().text()).toBe(303);
  const session = cookiesOf(done).find((c) => c.startsWith("mc_session="));
  expect(session).toBeTruthy();
  return session as string;
}
