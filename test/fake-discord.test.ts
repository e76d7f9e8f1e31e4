import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Client, DiscordAPIError, Events, PermissionFlagsBits } from "discord.js";
import type { Browser } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createDiscordClient } from "../src/discord/bot.ts";
import { browserSkipReason, launchBrowser } from "./support/browser.ts";
import { type FakeDiscord, startFakeDiscord, type User } from "./support/fake-discord.ts";

// The fake Discord itself, for what the web dashboard relies on: members and roles as the bot's
// own client sees them, and the OAuth2 login, from plain fetch and from a real browser. Each
// part has a fake of its own, as the tests change who is in what.

/** The fake the tests talk to: each part starts its own. */
let discord: FakeDiscord;

describe("members and roles, through the bot's client", () => {
  let client: Client;
  beforeAll(async () => {
    discord = await startFakeDiscord();
    client = createDiscordClient({ DISCORD_API_URL: discord.url });
    const ready = once(client, Events.ClientReady);
    await client.login(discord.token);
    await ready;
    await discord.waitFor(() => client.guilds.cache.get(discord.otherGuildId)?.available);
  });
  afterAll(async () => {
    await client?.destroy();
    await discord?.close();
  });

  const manages = async (guild: string, userId: string) => {
    const g = client.guilds.cache.get(guild);
    const m = await g?.members.fetch({ user: userId, force: true });
    return m?.permissions.has(PermissionFlagsBits.ManageGuild);
  };

  it("Manage Server comes from the Managers role, not from owning the server", async () => {
    expect(client.guilds.cache.get(discord.guildId)?.ownerId).toBe(discord.owner.id);
    expect(await manages(discord.guildId, discord.admin.id)).toBe(true);
    expect(await manages(discord.otherGuildId, discord.admin.id)).toBe(true);
    expect(await manages(discord.guildId, discord.member.id)).toBe(false);
    expect(await manages(discord.otherGuildId, discord.otherAdmin.id)).toBe(true);
  });

  it("follows the role as it is taken and given back, with no gateway event", async () => {
    discord.setManager(discord.guildId, discord.admin.id, false);
    expect(await manages(discord.guildId, discord.admin.id)).toBe(false);
    expect(await manages(discord.otherGuildId, discord.admin.id)).toBe(true);
    discord.setManager(discord.guildId, discord.member.id, true);
    expect(await manages(discord.guildId, discord.member.id)).toBe(true);
    discord.setManager(discord.guildId, discord.member.id, false);
    discord.setManager(discord.guildId, discord.admin.id, true);
    expect(await manages(discord.guildId, discord.admin.id)).toBe(true);
  });

  it("a user outside a server is an Unknown Member there", async () => {
    const fetch = (guild: string, user: string) =>
      client.guilds.cache.get(guild)?.members.fetch({ user, force: true });
    await expect(fetch(discord.guildId, discord.otherAdmin.id)).rejects.toMatchObject({
      code: 10007,
      message: "Unknown Member",
    });
    await expect(fetch(discord.guildId, discord.otherAdmin.id)).rejects.toBeInstanceOf(
      DiscordAPIError,
    );
    discord.removeMember(discord.otherGuildId, discord.admin.id);
    await expect(fetch(discord.otherGuildId, discord.admin.id)).rejects.toMatchObject({
      code: 10007,
    });
    expect(() => discord.setManager(discord.otherGuildId, discord.admin.id, true)).toThrow(
      /not a member/,
    );
  });

  it("serves the server and its roles over REST", async () => {
    const guild = await client.guilds.fetch({ guild: discord.guildId, force: true });
    expect(guild.ownerId).toBe(discord.owner.id);
    const roles = await guild.roles.fetch(undefined, { force: true });
    expect(roles.map((r) => [r.name, r.permissions.has(PermissionFlagsBits.ManageGuild)])).toEqual([
      ["@everyone", false],
      ["Managers", true],
    ]);
  });
});

describe("sharding, as Discord does", () => {
  /** Shard 0 and shard 1 of 2, and what each was sent. */
  const shards: { client: Client; events: { t: string; d: Record<string, unknown> }[] }[] = [];
  beforeAll(async () => {
    discord = await startFakeDiscord({ recommendedShards: 2 });
    for (const id of [0, 1]) {
      const client = createDiscordClient({
        DISCORD_API_URL: discord.url,
        SHARD_ID: id,
        SHARD_COUNT: 2,
      });
      const events: (typeof shards)[number]["events"] = [];
      client.on(
        Events.Raw,
        (packet: { t: string; d: Record<string, unknown> }) => void events.push(packet),
      );
      const ready = once(client, Events.ClientReady);
      await client.login(discord.token);
      await ready;
      shards.push({ client, events });
    }
  });
  afterAll(async () => {
    for (const { client } of shards) await client.destroy();
    await discord?.close();
  });
  const sent = (shard: number, t: string) => shards[shard]?.events.filter((e) => e.t === t) ?? [];
  /** The interactions a shard was sent, by id. */
  const interactions = (shard: number) => sent(shard, "INTERACTION_CREATE").map((e) => e.d.id);

  it("recommends the shard count it was given", async () => {
    const res = await fetch(`${discord.url}/v10/gateway/bot`, {
      headers: { authorization: `Bot ${discord.token}` },
    });
    expect(((await res.json()) as { shards: number }).shards).toBe(2);
  });

  it("puts the two servers on different shards, and tells each shard of its own only", () => {
    expect(discord.identified).toEqual([
      [0, 2],
      [1, 2],
    ]);
    const own = [discord.guildId, discord.otherGuildId];
    for (const shard of [0, 1]) {
      const [ready] = sent(shard, "READY");
      expect(ready?.d.shard).toEqual([shard, 2]);
      const listed = ready?.d.guilds as { id: string; unavailable: boolean }[];
      expect(listed.map((g) => [g.id, g.unavailable])).toEqual([[own[shard], true]]);
      expect(sent(shard, "GUILD_CREATE").map((e) => e.d.id)).toEqual([own[shard]]);
      expect([...(shards[shard]?.client.guilds.cache.keys() ?? [])]).toEqual([own[shard]]);
    }
  });

  it("sends a server's interactions to its shard only, and DMs to shard 0", async () => {
    // Events on one connection arrive in order: once a shard has the last one sent to it, it
    // would have had any other before.
    const inB = discord.command("task", "list", {}, { guild: discord.otherGuildId });
    const dm = discord.command("task", "list", {}, { dm: true });
    const inA = discord.command("task", "list", {}, { guild: discord.guildId });
    await discord.waitFor(() => interactions(0).includes(inA) && interactions(1).includes(inB));
    expect(interactions(0)).toEqual([dm, inA]);
    expect(interactions(1)).toEqual([inB]);
  });

  it("sends a server's own events to its shard only", async () => {
    discord.outage(discord.otherGuildId);
    discord.endOutage(discord.otherGuildId);
    discord.outage(discord.guildId);
    await discord.waitFor(
      () => sent(0, "GUILD_DELETE").length && sent(1, "GUILD_CREATE").length > 1,
    );
    expect(sent(0, "GUILD_DELETE").map((e) => e.d.id)).toEqual([discord.guildId]);
    expect(sent(1, "GUILD_DELETE").map((e) => e.d.id)).toEqual([discord.otherGuildId]);
    expect(sent(0, "GUILD_CREATE").map((e) => e.d.id)).toEqual([discord.guildId]);
  });
});

/** A PKCE pair, as a dashboard makes one for each login. */
function pkce() {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

// Never fetched: the redirects are read, not followed.
const redirectUri = "http://127.0.0.1:9/auth/callback";
const authorizeUrl = (params: Record<string, string> = {}) => {
  const { challenge } = pkce();
  const q = new URLSearchParams({
    client_id: discord.applicationId,
    redirect_uri: redirectUri,
    response_type: "code",
    scope: "identify guilds",
    state: randomBytes(8).toString("hex"),
    code_challenge: challenge,
    code_challenge_method: "S256",
    ...params,
  });
  return `${discord.webUrl}/oauth2/authorize?${q}`;
};

/** Shows the authorize page and presses a button: where the browser is sent next. */
async function login(as: User | "cancel", params: Record<string, string> = {}) {
  const { verifier, challenge } = pkce();
  const state = randomBytes(8).toString("hex");
  const html = await (
    await fetch(authorizeUrl({ code_challenge: challenge, state, ...params }))
  ).text();
  const request = /name="request" value="([^"]+)"/.exec(html)?.[1] ?? "";
  const res = await fetch(`${discord.webUrl}/oauth2/authorize`, {
    method: "POST",
    body: new URLSearchParams({ request, as: as === "cancel" ? as : as.id }),
    redirect: "manual",
  });
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get("location") ?? "");
  return { location, state, verifier, code: location.searchParams.get("code") ?? "" };
}

const exchange = (form: Record<string, string>, headers: Record<string, string> = {}) =>
  fetch(`${discord.url}/v10/oauth2/token`, {
    method: "POST",
    headers,
    body: new URLSearchParams({
      grant_type: "authorization_code",
      redirect_uri: redirectUri,
      ...form,
    }),
  });
const withSecret = (form: Record<string, string>) =>
  exchange({ client_id: discord.applicationId, client_secret: discord.clientSecret, ...form });
const asUser = (path: string, accessToken: string) =>
  fetch(`${discord.url}/v10${path}`, { headers: { authorization: `Bearer ${accessToken}` } });
async function accessTokenOf(user: User, params: Record<string, string> = {}) {
  const { code, verifier } = await login(user, params);
  const res = await withSecret({ code, code_verifier: verifier });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}
const hasManage = (bits: string) => (BigInt(bits) & PermissionFlagsBits.ManageGuild) !== 0n;

describe("OAuth2 login (authorization code with PKCE)", () => {
  beforeAll(async () => {
    discord = await startFakeDiscord();
  });
  afterAll(() => discord?.close());
  afterEach(() => {
    discord.clearFaults();
    vi.useRealTimers();
  });

  it("the whole flow: page, login, code, token, the user and its servers", async () => {
    const page = await fetch(authorizeUrl({ prompt: "consent" }));
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain("<title>Authorize Mission Control</title>");
    for (const name of ["admin", "member", "other_admin"])
      expect(html).toContain(`>Log in as ${name}</button>`);
    expect(html).toContain(">Cancel</button>");
    const asked = discord.authorizeRequests.at(-1);
    expect(asked?.get("code_challenge_method")).toBe("S256");
    expect(asked?.get("code_challenge")).toMatch(/^[\w-]{43}$/);
    expect(asked?.get("state")).toMatch(/^[0-9a-f]{16}$/);
    expect(asked?.get("prompt")).toBe("consent");

    const { location, state, code, verifier } = await login(discord.admin);
    expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
    expect(location.searchParams.get("state")).toBe(state);
    expect(code).toMatch(/^[\w-]{20,}$/);

    const res = await withSecret({ code, code_verifier: verifier });
    expect(res.status).toBe(200);
    const tokens = (await res.json()) as Record<string, unknown>;
    expect(tokens).toEqual({
      access_token: expect.any(String),
      token_type: "Bearer",
      expires_in: 604800,
      refresh_token: expect.any(String),
      scope: "identify guilds",
    });
    const accessToken = String(tokens.access_token);

    const me = await asUser("/users/@me", accessToken);
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ id: discord.admin.id, username: "admin", bot: false });
    const guilds = (await (await asUser("/users/@me/guilds", accessToken)).json()) as {
      id: string;
      permissions: string;
    }[];
    expect(guilds.map((g) => g.id)).toEqual([discord.guildId, discord.otherGuildId]);
    expect(guilds[0]).toEqual({
      id: discord.guildId,
      name: "Test Server",
      icon: null,
      owner: false,
      permissions: expect.stringMatching(/^\d+$/),
      features: [],
    });
    expect(guilds.every((g) => hasManage(g.permissions))).toBe(true);

    // The bot's token still gets the bot.
    const bot = await fetch(`${discord.url}/v10/users/@me`, {
      headers: { authorization: `Bot ${discord.token}` },
    });
    expect(await bot.json()).toMatchObject({ id: discord.botUser.id, bot: true });
  });

  it("lists only the servers a user is in, with the permissions of its roles, live", async () => {
    const member = await accessTokenOf(discord.member);
    const other = await accessTokenOf(discord.otherAdmin);
    const guildsOf = async (accessToken: string) =>
      (
        (await (await asUser("/users/@me/guilds", accessToken)).json()) as {
          id: string;
          permissions: string;
        }[]
      ).map((g) => [g.id, hasManage(g.permissions)]);
    expect(await guildsOf(member)).toEqual([[discord.guildId, false]]);
    expect(await guildsOf(other)).toEqual([[discord.otherGuildId, true]]);
    discord.setManager(discord.guildId, discord.member.id, true);
    expect(await guildsOf(member)).toEqual([[discord.guildId, true]]);
    discord.setManager(discord.guildId, discord.member.id, false);
  });

  it("refuses an authorize request it cannot serve, with the reason", async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ client_id: "123" }, /Unknown client_id/],
      [{ response_type: "token" }, /Invalid response_type/],
      [{ code_challenge: "" }, /Missing code_challenge/],
      [{ code_challenge_method: "plain" }, /Invalid code_challenge_method/],
      [{ redirect_uri: "javascript:alert(1)" }, /Invalid redirect_uri/],
      [{ scope: "identify bot" }, /Invalid scope/],
    ];
    for (const [params, reason] of cases) {
      const res = await fetch(authorizeUrl(params));
      expect(res.status, JSON.stringify(params)).toBe(400);
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
      const html = await res.text();
      expect(html).toMatch(reason);
      expect(html).not.toContain("Log in as");
    }
  });

  it("Cancel sends the user back with access_denied and the state", async () => {
    const { location, state } = await login("cancel");
    expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
    expect(location.searchParams.get("error")).toBe("access_denied");
    expect(location.searchParams.get("error_description")).toBeTruthy();
    expect(location.searchParams.get("state")).toBe(state);
    expect(location.searchParams.has("code")).toBe(false);
  });

  it("answers each authorize page once, and only with its buttons", async () => {
    const html = await (await fetch(authorizeUrl())).text();
    const request = /name="request" value="([^"]+)"/.exec(html)?.[1] ?? "";
    const press = (as: string) =>
      fetch(`${discord.webUrl}/oauth2/authorize`, {
        method: "POST",
        body: new URLSearchParams({ request, as }),
        redirect: "manual",
      });
    expect((await press(discord.owner.id)).status).toBe(400); // not on the page
    const html2 = await (await fetch(authorizeUrl())).text();
    const request2 = /name="request" value="([^"]+)"/.exec(html2)?.[1] ?? "";
    const again = () =>
      fetch(`${discord.webUrl}/oauth2/authorize`, {
        method: "POST",
        body: new URLSearchParams({ request: request2, as: discord.admin.id }),
        redirect: "manual",
      });
    expect((await again()).status).toBe(302);
    expect((await again()).status).toBe(400);
  });

  it("a wrong verifier is an invalid_grant", async () => {
    const { code } = await login(discord.admin);
    const res = await withSecret({ code, code_verifier: pkce().verifier });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: "invalid_grant",
      error_description: 'Invalid "code_verifier" in request.',
    });
  });

  it("a code is used once", async () => {
    const { code, verifier } = await login(discord.admin);
    expect((await withSecret({ code, code_verifier: verifier })).status).toBe(200);
    const again = await withSecret({ code, code_verifier: verifier });
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: "invalid_grant" });
  });

  it("a code expires after 10 minutes", async () => {
    const { code, verifier } = await login(discord.admin);
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 10 * 60_000 + 1 });
    const res = await withSecret({ code, code_verifier: verifier });
    expect(await res.json()).toMatchObject({ error: "invalid_grant" });
  });

  it("a code is for its redirect_uri", async () => {
    const { code, verifier } = await login(discord.admin);
    const res = await withSecret({
      code,
      code_verifier: verifier,
      redirect_uri: "http://127.0.0.1:9/elsewhere",
    });
    expect(await res.json()).toMatchObject({ error: "invalid_grant" });
  });

  it("takes the client's credentials in the form or as HTTP Basic, and refuses a wrong secret", async () => {
    const basic = (secret: string) => ({
      authorization: `Basic ${Buffer.from(`${discord.applicationId}:${secret}`).toString("base64")}`,
    });
    const a = await login(discord.admin);
    expect(
      (await exchange({ code: a.code, code_verifier: a.verifier }, basic(discord.clientSecret)))
        .status,
    ).toBe(200);
    const b = await login(discord.admin);
    const wrong = await exchange({ code: b.code, code_verifier: b.verifier }, basic("nope"));
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: "invalid_client" });
    const inForm = await exchange({
      client_id: discord.applicationId,
      client_secret: "nope",
      code: b.code,
      code_verifier: b.verifier,
    });
    expect(inForm.status).toBe(401);
  });

  it("reads the token request in the form encoding only, as Discord does", async () => {
    const { code, verifier } = await login(discord.admin);
    const res = await fetch(`${discord.url}/v10/oauth2/token`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Basic ${Buffer.from(`${discord.applicationId}:${discord.clientSecret}`).toString("base64")}`,
      },
      body: JSON.stringify({
        grant_type: "authorization_code",
        code,
        code_verifier: verifier,
        redirect_uri: redirectUri,
      }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "unsupported_grant_type" });
  });

  it("an access token is the user's for /users/@me and its guilds only, each with its scope", async () => {
    const unknown = await asUser("/users/@me", "not-a-token");
    expect(unknown.status).toBe(401);
    expect(await unknown.json()).toEqual({ message: "401: Unauthorized", code: 0 });
    const accessToken = await accessTokenOf(discord.admin, { scope: "identify" });
    expect((await asUser("/users/@me", accessToken)).status).toBe(200);
    expect((await asUser("/users/@me/guilds", accessToken)).status).toBe(401);
    const full = await accessTokenOf(discord.admin);
    expect((await asUser(`/channels/${discord.channels.general}`, full)).status).toBe(401);
    expect((await asUser(`/guilds/${discord.guildId}/roles`, full)).status).toBe(401);
  });

  it("an access token expires after 7 days", async () => {
    const accessToken = await accessTokenOf(discord.admin);
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 604_800_000 - 60_000 });
    expect((await asUser("/users/@me", accessToken)).status).toBe(200);
    vi.setSystemTime(Date.now() + 60_001);
    expect((await asUser("/users/@me", accessToken)).status).toBe(401);
  });

  it("fail() faults the login routes too", async () => {
    const accessToken = await accessTokenOf(discord.admin);
    discord.fail(/^GET \/users\/@me\/guilds$/, { status: 500, message: "boom" }, 1);
    expect((await asUser("/users/@me/guilds", accessToken)).status).toBe(500);
    expect((await asUser("/users/@me/guilds", accessToken)).status).toBe(200);
    discord.fail(/^POST \/oauth2\/token$/, { status: 502, message: "bad gateway" }, 1);
    const { code, verifier } = await login(discord.admin);
    expect((await withSecret({ code, code_verifier: verifier })).status).toBe(502);
    discord.fail(/^GET \/oauth2\/authorize$/, { status: 503, message: "down" }, 1);
    expect((await fetch(authorizeUrl())).status).toBe(503);
  });
});

describe.skipIf(browserSkipReason)("the authorize page in a real browser", () => {
  let browser: Browser | null;
  let callback: Server;
  let callbackUrl: string;
  beforeAll(async () => {
    discord = await startFakeDiscord();
    browser = await launchBrowser();
    // The dashboard's part: where the login lands, showing what it was given.
    callback = createServer((req, res) => {
      const q = new URL(req.url ?? "/", "http://x").searchParams;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ code: q.get("code"), state: q.get("state") }));
    });
    await new Promise<void>((resolve) => callback.listen(0, "127.0.0.1", resolve));
    callbackUrl = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/auth/callback`;
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await discord?.close();
    callback?.closeAllConnections();
    await new Promise((resolve) => callback?.close(resolve));
  });

  it("logs in as admin on the authorize page and lands on the redirect_uri", async () => {
    const page = await (browser as Browser).newPage();
    const { verifier, challenge } = pkce();
    await page.goto(
      authorizeUrl({ redirect_uri: callbackUrl, state: "s-123", code_challenge: challenge }),
    );
    expect(await page.title()).toBe("Authorize Mission Control");
    await page.getByRole("button", { name: "Log in as admin" }).click();
    await page.waitForURL(`${callbackUrl}?**`, { timeout: 10_000 });
    const landed = new URL(page.url());
    expect(`${landed.origin}${landed.pathname}`).toBe(callbackUrl);
    const echoed = JSON.parse((await page.locator("body").textContent()) ?? "") as {
      code: string;
      state: string;
    };
    expect(echoed.state).toBe("s-123");
    // The code the browser brought is good for admin's token.
    const res = await withSecret({
      code: echoed.code,
      code_verifier: verifier,
      redirect_uri: callbackUrl,
    });
    const { access_token } = (await res.json()) as { access_token: string };
    expect(await (await asUser("/users/@me", access_token)).json()).toMatchObject({
      id: discord.admin.id,
    });
  });
});
