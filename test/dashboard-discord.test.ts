import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cookiesOf, loginWithDiscord, startDashboardBot } from "./support/dashboard-bot.ts";
import { type FakeDiscord, startFakeDiscord, type User } from "./support/fake-discord.ts";
import { cli, type Proc } from "./support/process.ts";
import { tempDir } from "./support/world.ts";

// The dashboard of a bot connected to Discord (the fake, on 127.0.0.1), over real HTTP:
// "Log in with Discord" through the fake's OAuth2 pages, and who may see which server, asked of
// Discord on every request.

let discord: FakeDiscord;
let dir: Awaited<ReturnType<typeof tempDir>>;
let bot: Proc;
let dash: string;

/** Logs in through the fake Discord's authorize page as `user`: the session cookie. */
const discordLogin = (user: User) => loginWithDiscord(discord, dash, user);

const get = (path: string, cookie: string) =>
  fetch(`${dash}${path}`, { headers: { cookie }, redirect: "manual" });
const csrfOf = async (cookie: string) =>
  /name="_csrf" value="([^"]+)"/.exec(await (await get("/", cookie)).text())?.[1] as string;
const post = (path: string, cookie: string, form: Record<string, string>) =>
  fetch(`${dash}${path}`, {
    method: "POST",
    headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form),
    redirect: "manual",
  });

beforeAll(async () => {
  discord = await startFakeDiscord();
  dir = await tempDir();
  ({ bot, dash } = await startDashboardBot(discord, dir.path));
  // A task only the main server has.
  const env = { DATA_DIR: join(dir.path, "data") };
  const add = await cli(
    dir.path,
    env,
    "--server",
    discord.guildId,
    "tasks",
    "add",
    "only-main",
    "--handler",
    "test",
    "--schedule",
    "daily 09:00",
  );
  expect(add.code, add.stderr).toBe(0);
}, 60_000);
afterAll(async () => {
  // Nothing secret reached the log: not the client secret, not an OAuth2 token or code.
  expect(bot.output()).not.toContain(discord.clientSecret);
  expect(bot.output()).not.toMatch(/access_token|code_verifier|[?&]code=/);
  bot.child.kill("SIGTERM");
  await bot.exited;
  await discord.close();
  await dir.remove();
});

describe("dashboard with Discord: logging in", () => {
  it("sends the browser to Discord's authorize page with state, PKCE and the two scopes", async () => {
    await discordLogin(discord.admin);
    const q = discord.authorizeRequests.at(-1) as URLSearchParams;
    expect(q.get("client_id")).toBe(discord.applicationId);
    expect(q.get("response_type")).toBe("code");
    expect(q.get("scope")).toBe("identify guilds");
    expect(q.get("redirect_uri")).toBe(`${dash}/auth/callback`);
    expect(q.get("code_challenge_method")).toBe("S256");
    expect(q.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get("state")).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("the home page offers Log in with Discord", async () => {
    expect(await (await fetch(`${dash}/`)).text()).toContain('href="/login/discord"');
  });

  it("a callback whose state did not start in this browser logs nobody in", async () => {
    const begin = await fetch(`${dash}/login/discord`, { redirect: "manual" });
    const state = new URL(begin.headers.get("location") as string).searchParams.get("state");
    // No mc_oauth cookie: another browser (a login CSRF attempt).
    const res = await fetch(`${dash}/auth/callback?code=abc&state=${state}`, {
      redirect: "manual",
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("did not start in this browser");
    expect(cookiesOf(res).some((c) => c.startsWith("mc_session="))).toBe(false);
  });

  it("Cancel on Discord's page comes back as a clear message", async () => {
    const begin = await fetch(`${dash}/login/discord`, { redirect: "manual" });
    const page = await (await fetch(begin.headers.get("location") as string)).text();
    const request = /name="request" value="([^"]+)"/.exec(page)?.[1] as string;
    const back = await fetch(`${discord.webUrl}/oauth2/authorize`, {
      method: "POST",
      body: new URLSearchParams({ request, as: "cancel" }),
      redirect: "manual",
    });
    const res = await fetch(back.headers.get("location") as string, {
      headers: { cookie: cookiesOf(begin).join("; ") },
      redirect: "manual",
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("cancelled");
  });
});

describe("dashboard with Discord: who sees which server", () => {
  it("admin manages both servers; each server's page shows only its own tasks", async () => {
    const cookie = await discordLogin(discord.admin);
    const home = await (await get("/", cookie)).text();
    expect(home).toContain("Test Server");
    expect(home).toContain("Other Server");
    const main = await (await get(`/s/${discord.guildId}`, cookie)).text();
    expect(main).toContain("only-main");
    const other = await get(`/s/${discord.otherGuildId}`, cookie);
    expect(other.status).toBe(200);
    const otherBody = await other.text();
    expect(otherBody).toContain("daily-briefing");
    expect(otherBody).not.toContain("only-main");
    expect((await get(`/s/${discord.otherGuildId}/tasks/only-main`, cookie)).status).toBe(404);
  });

  it("a member without Manage Server sees no server and gets 403 for its pages and actions", async () => {
    const cookie = await discordLogin(discord.member);
    expect(await (await get("/", cookie)).text()).toContain("No servers");
    const page = await get(`/s/${discord.guildId}`, cookie);
    expect(page.status).toBe(403);
    expect(await page.text()).toContain("Manage Server");
    const csrf = await csrfOf(cookie);
    const act = await post(`/s/${discord.guildId}/tasks/only-main/disable`, cookie, {
      _csrf: csrf,
    });
    expect(act.status).toBe(403);
    const list = await cli(
      dir.path,
      { DATA_DIR: join(dir.path, "data") },
      "--server",
      discord.guildId,
      "tasks",
      "show",
      "only-main",
    );
    expect(list.stdout).toContain("enabled:   yes");
    expect((await get("/s/local", cookie)).status).toBe(403);
  });

  it("another server's admin sees only that server", async () => {
    const cookie = await discordLogin(discord.otherAdmin);
    const home = await (await get("/", cookie)).text();
    expect(home).toContain("Other Server");
    expect(home).not.toContain("Test Server");
    expect((await get(`/s/${discord.guildId}`, cookie)).status).toBe(403);
    expect((await get(`/s/${discord.guildId}/tasks/only-main`, cookie)).status).toBe(403);
  });

  it("access is checked live: a role taken away closes the server's pages at once", async () => {
    const cookie = await discordLogin(discord.admin);
    expect((await get(`/s/${discord.guildId}`, cookie)).status).toBe(200);
    discord.setManager(discord.guildId, discord.admin.id, false);
    try {
      expect((await get(`/s/${discord.guildId}`, cookie)).status).toBe(403);
      expect(await (await get("/", cookie)).text()).not.toContain("Test Server");
    } finally {
      discord.setManager(discord.guildId, discord.admin.id, true);
    }
    expect((await get(`/s/${discord.guildId}`, cookie)).status).toBe(200);
  });
});

describe("dashboard with Discord: /healthz", () => {
  it("reports the gateway connected, and a dropped gateway until it resumes", async () => {
    expect(await (await fetch(`${dash}/healthz`)).json()).toEqual({
      ok: true,
      discord: "connected",
      scheduler: "running",
    });
    discord.dropGateway(3_000);
    const seen = await discord.waitFor(async () => {
      const res = await fetch(`${dash}/healthz`);
      return res.status === 503 ? res.json() : undefined;
    }, 5_000);
    expect(seen).toMatchObject({ ok: false, discord: "disconnected" });
    await discord.waitFor(async () => (await fetch(`${dash}/healthz`)).status === 200, 30_000);
  });
});
