import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type WebSocket, WebSocketServer } from "ws";

// A small Discord for tests, on 127.0.0.1: the REST routes the bot uses and a gateway that
// speaks HELLO / IDENTIFY -> READY + GUILD_CREATE / heartbeats / RESUME / INTERACTION_CREATE.
// The gateway shards as Discord does: a connection that identifies as shard [id, count] gets
// the events of the servers that shard owns (DMs are shard 0's).
// It records what the bot sends (interaction responses, channel messages, DMs, command
// registrations) and injects faults (Discord error codes, 429s, 5xx, a dropped gateway).
// The real discord.js client talks to it through DISCORD_API_URL, as it would to Discord.
// For a web dashboard it is also Discord's OAuth2 (authorization code with PKCE): an authorize
// page at `webUrl`, where a test logs in as one of its users, the token exchange, and
// /users/@me and /users/@me/guilds for the access token.

export const PERMISSIONS = {
  ViewChannel: 1n << 10n,
  SendMessages: 1n << 11n,
  EmbedLinks: 1n << 14n,
  AttachFiles: 1n << 15n,
  ManageGuild: 1n << 5n,
  Administrator: 1n << 3n,
};
const BOT_PERMISSIONS =
  PERMISSIONS.ViewChannel |
  PERMISSIONS.SendMessages |
  PERMISSIONS.EmbedLinks |
  PERMISSIONS.AttachFiles;

let snowflake = 1_300_000_000_000_000_000n;
export const newId = () => String(++snowflake);
/** The first new id of the snowflake millisecond `ms` (ids stay increasing: `ms` is ahead). */
const idAt = (ms: bigint) => {
  snowflake = ms << 22n;
  return newId();
};

/** The shard that owns a server's events, as Discord computes it; DMs are shard 0's. */
export const shardOf = (guild: string | null, count: number): number =>
  guild === null ? 0 : Number((BigInt(guild) >> 22n) % BigInt(count));

export interface User {
  id: string;
  username: string;
}

export interface SentMessage {
  id: string;
  channel_id: string;
  content: string;
  embeds: unknown[];
  components: unknown[];
  nonce?: string;
  enforce_nonce?: boolean;
  allowed_mentions?: { parse?: string[]; users?: string[]; roles?: string[] };
  /** Set for DMs: who received it. */
  recipient?: string;
}

export interface InteractionReply {
  /** 4 reply, 5 deferred reply, 6 deferred update, 7 update, 8 autocomplete; "followup"/"edit" for webhooks. */
  type: number | "followup" | "edit";
  data: Record<string, unknown>;
  at: number;
}

interface Fault {
  status: number;
  code?: number;
  message: string;
  retryAfter?: number;
  remaining: number;
}

type CommandOption = {
  name: string;
  type: number;
  value?: unknown;
  focused?: boolean;
  options?: CommandOption[];
};

export interface FakeDiscord {
  /** The REST base, as DISCORD_API_URL: `http://127.0.0.1:<port>/api`. */
  url: string;
  /** Where discord.com's pages are: the authorize page is `${webUrl}/oauth2/authorize`. */
  webUrl: string;
  token: string;
  /** Also the OAuth2 client id. */
  applicationId: string;
  clientSecret: string;
  guildId: string;
  /** A second server the bot is in, with a channel of its own: tenants must stay apart. */
  otherGuildId: string;
  otherChannel: string;
  botUser: User;
  /** Owns both servers. Not `admin`: an owner has every permission, whatever its roles. */
  owner: User;
  /** A Manager (Manage Server through the "Managers" role) of both servers. */
  admin: User;
  /** In the main server only, without roles. */
  member: User;
  /** A Manager of the other server, and not in the main one. */
  otherAdmin: User;
  channels: { general: string; briefings: string; locked: string; doomed: string };
  messages: SentMessage[];
  requests: { method: string; path: string; at: number }[];
  commandPuts: number;
  registeredCommands(): Record<string, unknown>[];
  /** Commands registered globally (for every server). */
  globalCommands(): Record<string, unknown>[];
  identifies: number;
  /** The shard of every IDENTIFY, in order: [id, count] ([0, 1] when it named none). */
  identified: [number, number][];
  resumes: number;
  /**
   * Gives or takes the "Managers" role (Manage Server) of a member of `guild`. No gateway event:
   * the bot fetches members fresh, as it must for a permission check.
   */
  setManager(guild: string, userId: string, on: boolean): void;
  /** The user leaves the server (no gateway event either): fetching it then gives 10007. */
  removeMember(guild: string, userId: string): void;
  /** The query of every GET of the authorize page, valid or not: state and PKCE were sent? */
  authorizeRequests: URLSearchParams[];
  /** Faults for requests whose "METHOD path" matches; each fires `times` times (default forever). */
  fail(
    match: RegExp,
    fault: { status: number; code?: number; message: string; retryAfter?: number },
    times?: number,
  ): void;
  clearFaults(): void;
  /** Deletes a channel, as a server admin would: CHANNEL_DELETE, then 10003 for it. */
  deleteChannel(id: string): void;
  /** A server's admin removes the bot (GUILD_DELETE), or invites it back (GUILD_CREATE). */
  removeBot(guild: string): void;
  inviteBot(guild: string): void;
  /** A Discord outage for one server: GUILD_DELETE with unavailable, then GUILD_CREATE. */
  outage(guild: string): void;
  endOutage(guild: string): void;
  /** The servers the bot left on its own (DELETE /users/@me/guilds/:id). */
  left: string[];
  /**
   * Closes the gateway connection as a network drop would; the client resumes, once the
   * gateway takes connections again (after `downForMs`, for an outage a check can see).
   */
  dropGateway(downForMs?: number): void;
  connected(): boolean;
  /** Sends a slash command as `user` and returns its interaction id. */
  command(
    name: string,
    sub: string | null,
    options: Record<string, unknown>,
    as?: { user?: User; permissions?: bigint; dm?: boolean; guild?: string },
  ): string;
  autocomplete(
    name: string,
    sub: string | null,
    options: Record<string, unknown>,
    focused: string,
    as?: { user?: User; permissions?: bigint; guild?: string },
  ): string;
  button(
    customId: string,
    message: SentMessage,
    as?: { user?: User; permissions?: bigint; dm?: boolean; guild?: string },
  ): string;
  replies(interactionId: string): InteractionReply[];
  waitFor<T>(
    check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
    timeoutMs?: number,
  ): Promise<T>;
  close(): Promise<void>;
}

const json = (
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) => {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(body === undefined ? undefined : JSON.stringify(body));
};

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (!text) return {};
  if ((req.headers["content-type"] ?? "").includes("application/x-www-form-urlencoded"))
    return Object.fromEntries(new URLSearchParams(text));
  if ((req.headers["content-type"] ?? "").includes("multipart/form-data")) {
    const m = /name="payload_json"[^\n]*\r?\n(?:[^\n]*\r?\n)*?\r?\n([\s\S]*?)\r?\n--/.exec(text);
    return m ? JSON.parse(m[1] as string) : {};
  }
  return JSON.parse(text);
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const page = (res: ServerResponse, status: number, body: string) => {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8" });
  res.end(
    `<!doctype html><html><head><meta charset="utf-8"><title>Authorize Mission Control</title></head><body><h1>Authorize Mission Control</h1>${body}</body></html>`,
  );
};

const secret = () => randomBytes(24).toString("base64url");
const s256 = (verifier: string) => createHash("sha256").update(verifier).digest("base64url");
/** The scopes Discord would grant; others make the authorize page refuse. */
const SCOPES = ["identify", "email", "guilds", "guilds.members.read"];
const CODE_TTL_MS = 10 * 60_000;
const TOKEN_TTL_S = 604_800;

export interface FakeDiscordOptions {
  /** The shard count GET /gateway/bot recommends (Discord's `shards`). */
  recommendedShards?: number;
}

export async function startFakeDiscord(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  const token = "fake-token.for-tests.only";
  const applicationId = newId();
  // The servers' ids are a snowflake millisecond apart, the first an even one: with two shards
  // the main server is shard 0's and the other shard 1's.
  const guildMs = ((snowflake >> 22n) / 2n + 1n) * 2n;
  const guildId = idAt(guildMs);
  const otherGuildId = idAt(guildMs + 1n);
  const otherChannel = newId();
  const botUser: User = { id: applicationId, username: "Mission Control" };
  const owner: User = { id: newId(), username: "owner" };
  const admin: User = { id: newId(), username: "admin" };
  const member: User = { id: newId(), username: "member" };
  const otherAdmin: User = { id: newId(), username: "other_admin" };
  const users = new Map([botUser, owner, admin, member, otherAdmin].map((u) => [u.id, u]));
  const guilds = [guildId, otherGuildId];
  // Each server has @everyone (what the bot needs; channel overwrites then decide) and
  // "Managers" (Manage Server). An owner has every permission whatever its roles, so the owner is
  // a user of its own who never logs in: Manage Server comes from the roles alone.
  const managersRole = new Map(guilds.map((g) => [g, newId()]));
  const rolesJson = (guild: string) =>
    [
      { id: guild, name: "@everyone", permissions: BOT_PERMISSIONS, position: 0 },
      {
        id: managersRole.get(guild) as string,
        name: "Managers",
        permissions: PERMISSIONS.ManageGuild,
        position: 1,
      },
    ].map((r) => ({
      ...r,
      permissions: String(r.permissions),
      color: 0,
      hoist: false,
      managed: false,
      mentionable: false,
      flags: 0,
    }));
  const joinedAt = new Date().toISOString();
  /** Members of each server: user id -> role ids. */
  const members = new Map(guilds.map((g) => [g, new Map<string, string[]>()]));
  const join = (guild: string, user: User, roles: string[] = []) =>
    members.get(guild)?.set(user.id, roles);
  for (const g of guilds) {
    join(g, botUser);
    join(g, owner);
    join(g, admin, [managersRole.get(g) as string]);
  }
  join(guildId, member);
  join(otherGuildId, otherAdmin, [managersRole.get(otherGuildId) as string]);
  const memberJson = (guild: string, user: User) => ({
    user: userJson(user),
    roles: members.get(guild)?.get(user.id) ?? [],
    joined_at: joinedAt,
    deaf: false,
    mute: false,
    flags: 0,
  });
  /** A member's permissions in a server: @everyone's and its roles'. */
  const permissionsIn = (guild: string, userId: string) => {
    const roles = members.get(guild)?.get(userId) ?? [];
    return rolesJson(guild)
      .filter((r) => r.id === guild || roles.includes(r.id))
      .reduce((bits, r) => bits | BigInt(r.permissions), 0n);
  };
  const channels = { general: newId(), briefings: newId(), locked: newId(), doomed: newId() };
  const deletedChannels = new Set<string>();
  const dmChannels = new Map<string, string>(); // dm channel id -> user id
  const messages: SentMessage[] = [];
  const left: string[] = [];
  const requests: FakeDiscord["requests"] = [];
  const faults: { match: RegExp; fault: Fault }[] = [];
  const replies = new Map<string, InteractionReply[]>();
  const tokens = new Map<string, string>(); // interaction token -> interaction id
  const created = new Map<string, number>(); // interaction id -> when it was sent
  /** Registered commands by scope: a guild id, or "global". */
  const scopes = new Map<string, Record<string, unknown>[]>();
  const registered = () => scopes.get(guildId) ?? scopes.get("global") ?? [];
  let commandPuts = 0;
  let identifies = 0;
  const identified: [number, number][] = [];
  let resumes = 0;
  // OAuth2: pages shown, codes given, access tokens given.
  const clientSecret = "fake-client-secret.for-tests.only";
  /** Who can log in on the authorize page. */
  const loginUsers = [admin, member, otherAdmin];
  const authorizeRequests: URLSearchParams[] = [];
  /** Authorize pages shown and not answered yet, by the id in their form. */
  const pending = new Map<string, URLSearchParams>();
  const codes = new Map<
    string,
    { user: User; redirectUri: string; challenge: string; scopes: string[]; expires: number }
  >();
  const grants = new Map<string, { user: User; scopes: string[]; expires: number }>();

  const userJson = (u: User) => ({
    id: u.id,
    username: u.username,
    discriminator: "0",
    global_name: u.username,
    avatar: null,
    bot: u === botUser,
  });
  const known = (id: string) => Object.values(channels).includes(id) || id === otherChannel;
  const channelJson = (id: string) => {
    const name =
      id === otherChannel
        ? "other-general"
        : (Object.entries(channels).find(([, v]) => v === id)?.[0] ?? "channel");
    // #locked denies the bot View Channel and Send Messages.
    const overwrites =
      id === channels.locked
        ? [
            {
              id: botUser.id,
              type: 1,
              allow: "0",
              deny: String(PERMISSIONS.ViewChannel | PERMISSIONS.SendMessages),
            },
          ]
        : [];
    return {
      id,
      type: 0,
      guild_id: id === otherChannel ? otherGuildId : guildId,
      name,
      position: 0,
      permission_overwrites: overwrites,
      parent_id: null,
      nsfw: false,
    };
  };
  const guildJson = (id = guildId) => ({
    id,
    name: id === guildId ? "Test Server" : "Other Server",
    icon: null,
    owner_id: owner.id,
    unavailable: false,
    member_count: members.get(id)?.size ?? 0,
    large: false,
    features: [],
    emojis: [],
    stickers: [],
    roles: rolesJson(id),
    channels: (id === guildId ? Object.values(channels) : [otherChannel])
      .filter((c) => !deletedChannels.has(c))
      .map(channelJson),
    threads: [],
    // Without the privileged members intent, Discord sends only the bot's own member.
    members: [memberJson(id, botUser)],
    presences: [],
    voice_states: [],
    stage_instances: [],
    guild_scheduled_events: [],
    preferred_locale: "en-US",
    premium_tier: 0,
    system_channel_flags: 0,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    mfa_level: 0,
    nsfw_level: 0,
    afk_timeout: 300,
    joined_at: joinedAt,
  });

  // ---- gateway
  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((err) => json(res, 500, { message: String(err), code: 0 }));
  });
  const wss = new WebSocketServer({ noServer: true });
  const sockets = new Set<WebSocket>();
  /**
   * What one IDENTIFY opened: its shard, its connection (null while dropped), and the dispatches
   * sent, kept so a RESUME replays what a dropped connection missed, as Discord does.
   */
  interface Session {
    id: string;
    shard: [number, number];
    ws: WebSocket | null;
    seq: number;
    sent: { s: number; payload: string }[];
  }
  /** By shard ("id/count"): a new IDENTIFY of a shard replaces its session. */
  const sessions = new Map<string, Session>();
  let sessionCount = 0;
  const send = (session: Session, t: string, d: unknown) => {
    const s = ++session.seq;
    const payload = JSON.stringify({ op: 0, t, s, d });
    session.sent.push({ s, payload });
    if (session.sent.length > 500) session.sent.shift();
    const ws = session.ws;
    if (ws && ws.readyState === ws.OPEN) ws.send(payload);
  };
  /** An event about `guild` (null: not a server's, like a DM) to the shards that own it. */
  const dispatch = (t: string, d: unknown, guild: string | null) => {
    for (const session of sessions.values())
      if (shardOf(guild, session.shard[1]) === session.shard[0]) send(session, t, d);
  };
  function identify(ws: WebSocket, d: Record<string, unknown>) {
    if (d.token !== token && d.token !== `Bot ${token}`) {
      ws.close(4004, "Authentication failed");
      return;
    }
    const [id, count] = (Array.isArray(d.shard) ? d.shard : [0, 1]) as [number, number];
    if (!Number.isInteger(id) || !Number.isInteger(count) || id < 0 || id >= count) {
      ws.close(4010, "Invalid shard");
      return;
    }
    identifies++;
    identified.push([id, count]);
    const session: Session = {
      id: `fake-session-${++sessionCount}`,
      shard: [id, count],
      ws,
      seq: 0,
      sent: [],
    };
    sessions.set(`${id}/${count}`, session);
    const mine = guilds.filter((g) => shardOf(g, count) === id);
    send(session, "READY", {
      v: 10,
      user: { ...userJson(botUser), verified: true, mfa_enabled: false, flags: 0 },
      guilds: mine.map((g) => ({ id: g, unavailable: true })),
      session_id: session.id,
      resume_gateway_url: gatewayUrl,
      application: { id: applicationId, flags: 0 },
      shard: [id, count],
    });
    for (const g of mine) send(session, "GUILD_CREATE", guildJson(g));
  }
  function resume(ws: WebSocket, d: Record<string, unknown>) {
    const session = [...sessions.values()].find((s) => s.id === d.session_id);
    // An unknown session cannot be resumed: the client identifies anew.
    if (!session) return void ws.send(JSON.stringify({ op: 9, d: false }));
    resumes++;
    session.ws = ws;
    for (const e of session.sent) if (e.s > Number(d.seq ?? 0)) ws.send(e.payload);
    send(session, "RESUMED", {});
  }
  let gatewayDownUntil = 0;
  server.on("upgrade", (req, sock, head) => {
    if (Date.now() < gatewayDownUntil) {
      sock.destroy();
      return;
    }
    wss.handleUpgrade(req, sock, head, (ws) => {
      sockets.add(ws);
      ws.on("close", () => {
        sockets.delete(ws);
        for (const s of sessions.values()) if (s.ws === ws) s.ws = null;
      });
      ws.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 41_250 } }));
      ws.on("message", (raw) => {
        const msg = JSON.parse(String(raw)) as { op: number; d: Record<string, unknown> };
        if (msg.op === 1) ws.send(JSON.stringify({ op: 11 }));
        else if (msg.op === 2) identify(ws, msg.d);
        else if (msg.op === 6) resume(ws, msg.d);
      });
    });
  });

  // ---- REST
  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://x");
    // Outside /api: discord.com's pages (the authorize page), for a browser.
    const web = !/^\/api(\/|$)/.test(url.pathname);
    const path = decodeURIComponent(url.pathname).replace(/^\/api(\/v\d+)?/, "");
    const method = req.method ?? "GET";
    requests.push({ method, path, at: Date.now() });
    const body = method === "GET" || method === "DELETE" ? {} : await readBody(req);
    const key = `${method} ${path}`;
    const auth = req.headers.authorization ?? "";
    // A user's access token is good for /users/@me and its guilds only, as on Discord.
    const grant = auth.startsWith("Bearer ") ? grants.get(auth.slice(7)) : undefined;
    const asUser =
      grant && grant.expires > Date.now() && /^GET \/users\/@me(\/guilds)?$/.test(key)
        ? grant
        : undefined;
    // Open to anyone: the pages, the token exchange (it checks the client's credentials) and
    // interaction webhooks (their token is in the path).
    const open =
      web ||
      key === "POST /oauth2/token" ||
      path.startsWith("/interactions/") ||
      path.startsWith("/webhooks/");
    if (!open && !asUser && auth !== `Bot ${token}`) {
      return json(res, 401, { message: "401: Unauthorized", code: 0 });
    }
    const hit = faults.find((f) => f.match.test(key) && f.fault.remaining > 0);
    if (hit) {
      hit.fault.remaining--;
      const { status, code, message, retryAfter } = hit.fault;
      if (status === 429) {
        return json(
          res,
          429,
          { message, retry_after: retryAfter ?? 1, global: false, code: code ?? 0 },
          {
            "retry-after": String(Math.ceil(retryAfter ?? 1)),
            "x-ratelimit-scope": "user",
          },
        );
      }
      return json(res, status, { message, code: code ?? 0 });
    }

    if (web) return webPage(res, key, url.searchParams, body);
    if (key === "POST /oauth2/token") return exchange(req, res, body);
    if (asUser) {
      // Without the scope, Discord answers as to an unknown token.
      const scope = key === "GET /users/@me" ? "identify" : "guilds";
      if (!asUser.scopes.includes(scope))
        return json(res, 401, { message: "401: Unauthorized", code: 0 });
      if (key === "GET /users/@me") return json(res, 200, userJson(asUser.user));
      return json(res, 200, guildsOf(asUser.user));
    }

    let m: RegExpExecArray | null;
    if (key === "GET /gateway/bot") {
      return json(res, 200, {
        url: gatewayUrl,
        shards: options.recommendedShards ?? 1,
        session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 1 },
      });
    }
    if (key === "GET /users/@me") return json(res, 200, userJson(botUser));
    if (key === "GET /users/@me/guilds") return json(res, 200, guildsOf(botUser));
    if (key === "GET /applications/@me" || key === "GET /oauth2/applications/@me") {
      return json(res, 200, {
        id: applicationId,
        name: "Mission Control",
        bot: userJson(botUser),
        flags: 0,
      });
    }
    m = /^(GET|PUT) \/applications\/(\d+)(?:\/guilds\/(\d+))?\/commands$/.exec(key);
    if (m) {
      const scope = m[3] ?? "global";
      if (m[1] === "PUT") {
        commandPuts++;
        scopes.set(
          scope,
          (body as unknown as Record<string, unknown>[]).map((c) => ({
            ...c,
            id: newId(),
            application_id: applicationId,
            guild_id: m?.[3],
            version: newId(),
          })),
        );
      }
      return json(res, 200, scopes.get(scope) ?? []);
    }
    m = /^DELETE \/users\/@me\/guilds\/(\d+)$/.exec(key);
    if (m) {
      left.push(m[1] as string);
      dispatch("GUILD_DELETE", { id: m[1] }, m[1] as string);
      res.writeHead(204).end();
      return;
    }
    m = /^GET \/guilds\/(\d+)(\/roles|\/members\/(\d+))?$/.exec(key);
    if (m) {
      const guild = m[1] as string;
      if (!members.has(guild)) return json(res, 404, { message: "Unknown Guild", code: 10004 });
      if (m[2] === "/roles") return json(res, 200, rolesJson(guild));
      if (!m[3]) {
        // REST has no gateway-only fields (channels, members, ...).
        const { channels: _c, threads: _t, members: _m, presences: _p, ...rest } = guildJson(guild);
        return json(res, 200, rest);
      }
      const user = users.get(m[3]);
      if (!user || !members.get(guild)?.has(user.id))
        return json(res, 404, { message: "Unknown Member", code: 10007 });
      return json(res, 200, memberJson(guild, user));
    }
    m = /^GET \/users\/(\d+)$/.exec(key);
    if (m) {
      const u = users.get(m[1] as string);
      return u
        ? json(res, 200, userJson(u))
        : json(res, 404, { message: "Unknown User", code: 10013 });
    }
    if (key === "POST /users/@me/channels") {
      const recipient = String(body.recipient_id);
      let dm = [...dmChannels].find(([, u]) => u === recipient)?.[0];
      if (!dm) {
        dm = newId();
        dmChannels.set(dm, recipient);
      }
      return json(res, 200, {
        id: dm,
        type: 1,
        recipients: [userJson(users.get(recipient) ?? { id: recipient, username: "someone" })],
      });
    }
    m = /^GET \/channels\/(\d+)$/.exec(key);
    if (m) {
      const id = m[1] as string;
      if (dmChannels.has(id)) return json(res, 200, { id, type: 1, recipients: [] });
      if (deletedChannels.has(id) || !known(id))
        return json(res, 404, { message: "Unknown Channel", code: 10003 });
      return json(res, 200, channelJson(id));
    }
    m = /^POST \/channels\/(\d+)\/messages$/.exec(key);
    if (m) {
      const channelId = m[1] as string;
      const recipient = dmChannels.get(channelId);
      if (!recipient && (deletedChannels.has(channelId) || !known(channelId))) {
        return json(res, 404, { message: "Unknown Channel", code: 10003 });
      }
      if (channelId === channels.locked)
        return json(res, 403, { message: "Missing Access", code: 50001 });
      if (body.enforce_nonce && body.nonce) {
        const same = messages.find((x) => x.channel_id === channelId && x.nonce === body.nonce);
        if (same) return json(res, 200, messageJson(same));
      }
      const sent: SentMessage = {
        id: newId(),
        channel_id: channelId,
        content: String(body.content ?? ""),
        embeds: (body.embeds as unknown[]) ?? [],
        components: (body.components as unknown[]) ?? [],
        nonce: body.nonce as string | undefined,
        enforce_nonce: body.enforce_nonce as boolean | undefined,
        allowed_mentions: body.allowed_mentions as SentMessage["allowed_mentions"],
        recipient,
      };
      if (sent.content.length > 2000)
        return json(res, 400, {
          message: "Invalid Form Body: content must be 2000 or fewer in length.",
          code: 50035,
        });
      messages.push(sent);
      return json(res, 200, messageJson(sent));
    }
    m = /^POST \/interactions\/(\d+)\/([^/]+)\/callback$/.exec(key);
    if (m) {
      const list = replies.get(m[1] as string);
      // Discord forgets an interaction not answered (or deferred) within 3 seconds.
      const late = Date.now() - (created.get(m[1] as string) ?? 0) > 3_000;
      if (!list || late) return json(res, 404, { message: "Unknown interaction", code: 10062 });
      if (list.some((r) => typeof r.type === "number"))
        return json(res, 400, {
          message: "Interaction has already been acknowledged.",
          code: 40060,
        });
      list.push({
        type: Number(body.type),
        data: (body.data as Record<string, unknown>) ?? {},
        at: Date.now(),
      });
      res.writeHead(204).end();
      return;
    }
    m = /^(POST|PATCH|GET|DELETE) \/webhooks\/(\d+)\/([^/]+)(\/messages\/(@original|\d+))?$/.exec(
      key,
    );
    if (m) {
      const interactionId = tokens.get(m[3] as string);
      const list = interactionId ? replies.get(interactionId) : undefined;
      if (!list) return json(res, 404, { message: "Unknown Webhook", code: 10015 });
      if (m[1] === "POST" || m[1] === "PATCH")
        list.push({ type: m[1] === "POST" ? "followup" : "edit", data: body, at: Date.now() });
      return json(
        res,
        200,
        messageJson({
          id: newId(),
          channel_id: channels.general,
          content: String(body.content ?? ""),
          embeds: (body.embeds as unknown[]) ?? [],
          components: (body.components as unknown[]) ?? [],
        }),
      );
    }
    return json(res, 404, { message: `fake Discord has no route ${key}`, code: 0 });
  }

  /** The servers `user` is in, as GET /users/@me/guilds lists them. */
  function guildsOf(user: User) {
    return guilds
      .filter((g) => members.get(g)?.has(user.id))
      .map((g) => ({
        id: g,
        name: g === guildId ? "Test Server" : "Other Server",
        icon: null,
        owner: user.id === owner.id,
        permissions: String(permissionsIn(g, user.id)),
        features: [],
      }));
  }

  // ---- OAuth2
  /**
   * Why an authorize request is refused, or null. Stricter than Discord, where PKCE is optional:
   * here it is required (S256), so a dashboard that forgets it fails its tests.
   * Any http(s) redirect_uri is taken (a test's server has a port of its own); `prompt` is
   * recorded only: the page always asks.
   */
  function authorizeProblem(q: URLSearchParams): string | null {
    if (q.get("client_id") !== applicationId) return "Unknown client_id.";
    if (q.get("response_type") !== "code")
      return 'Invalid response_type: only "code" is supported.';
    const redirect = URL.canParse(q.get("redirect_uri") ?? "")
      ? new URL(q.get("redirect_uri") as string)
      : null;
    if (!redirect || !/^https?:$/.test(redirect.protocol)) return "Invalid redirect_uri.";
    const scopes = (q.get("scope") ?? "").split(" ").filter(Boolean);
    if (!scopes.length || scopes.some((x) => !SCOPES.includes(x)))
      return `Invalid scope: use some of ${SCOPES.join(", ")}.`;
    if (!q.get("code_challenge")) return "Missing code_challenge: this app must use PKCE.";
    if (q.get("code_challenge_method") !== "S256")
      return 'Invalid code_challenge_method: only "S256" is supported.';
    return null;
  }

  function webPage(
    res: ServerResponse,
    key: string,
    query: URLSearchParams,
    body: Record<string, unknown>,
  ) {
    if (key === "GET /oauth2/authorize") {
      authorizeRequests.push(new URLSearchParams(query));
      const problem = authorizeProblem(query);
      if (problem) return page(res, 400, `<p role="alert">${escapeHtml(problem)}</p>`);
      const request = secret();
      pending.set(request, query);
      // One form, one button a user: the button pressed says who logs in (or Cancel).
      return page(
        res,
        200,
        [
          `<p>Mission Control wants to: ${escapeHtml(query.get("scope") ?? "")}</p>`,
          '<form method="post" action="/oauth2/authorize">',
          `<input type="hidden" name="request" value="${request}">`,
          ...loginUsers.map(
            (u) =>
              `<p><button name="as" value="${u.id}">Log in as ${escapeHtml(u.username)}</button>`,
          ),
          '<p><button name="as" value="cancel">Cancel</button>',
          "</form>",
        ].join("\n"),
      );
    }
    if (key === "POST /oauth2/authorize") {
      // Each page is answered once, as a code is used once.
      const query = pending.get(String(body.request));
      pending.delete(String(body.request));
      const user = loginUsers.find((u) => u.id === body.as);
      if (!query || (!user && body.as !== "cancel"))
        return page(
          res,
          400,
          '<p role="alert">Unknown or answered authorization request, or no such button.</p>',
        );
      const target = new URL(query.get("redirect_uri") as string);
      if (user) {
        const code = secret();
        codes.set(code, {
          user,
          redirectUri: query.get("redirect_uri") as string,
          challenge: query.get("code_challenge") as string,
          scopes: (query.get("scope") as string).split(" ").filter(Boolean),
          expires: Date.now() + CODE_TTL_MS,
        });
        target.searchParams.set("code", code);
      } else {
        target.searchParams.set("error", "access_denied");
        target.searchParams.set(
          "error_description",
          "The resource owner or authorization server denied the request",
        );
      }
      const state = query.get("state");
      if (state !== null) target.searchParams.set("state", state);
      res.writeHead(302, { location: target.href }).end();
      return;
    }
    return page(res, 404, `<p role="alert">No page ${escapeHtml(key)}.</p>`);
  }

  /** POST /oauth2/token: an authorization code (and its PKCE verifier) for an access token. */
  function exchange(req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>) {
    // Discord reads the form encoding only.
    const form = (req.headers["content-type"] ?? "").includes("application/x-www-form-urlencoded")
      ? body
      : {};
    // The client's credentials: HTTP Basic, or in the form.
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? "");
    const pair = basic ? Buffer.from(basic[1] as string, "base64").toString("utf8") : "";
    const [id, pass] = basic
      ? [pair.slice(0, pair.indexOf(":")), pair.slice(pair.indexOf(":") + 1)]
      : [form.client_id, form.client_secret];
    if (id !== applicationId || pass !== clientSecret)
      return json(res, 401, { error: "invalid_client" });
    if (form.grant_type !== "authorization_code")
      return json(res, 400, {
        error: "unsupported_grant_type",
        error_description: `Grant type ${String(form.grant_type)} is not supported`,
      });
    const invalid = (what: string) =>
      json(res, 400, {
        error: "invalid_grant",
        error_description: `Invalid "${what}" in request.`,
      });
    // A code is gone once presented, whether the rest of the request is right or not.
    const code = codes.get(String(form.code));
    codes.delete(String(form.code));
    if (!code || code.expires <= Date.now()) return invalid("code");
    if (form.redirect_uri !== code.redirectUri) return invalid("redirect_uri");
    if (s256(String(form.code_verifier ?? "")) !== code.challenge) return invalid("code_verifier");
    const accessToken = secret();
    grants.set(accessToken, {
      user: code.user,
      scopes: code.scopes,
      expires: Date.now() + TOKEN_TTL_S * 1000,
    });
    return json(res, 200, {
      access_token: accessToken,
      token_type: "Bearer",
      expires_in: TOKEN_TTL_S,
      refresh_token: secret(),
      scope: code.scopes.join(" "),
    });
  }

  function messageJson(x: SentMessage) {
    return {
      id: x.id,
      channel_id: x.channel_id,
      content: x.content,
      embeds: x.embeds,
      components: x.components,
      nonce: x.nonce,
      author: userJson(botUser),
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: [],
      pinned: false,
      type: 0,
      flags: 0,
    };
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const gatewayUrl = `ws://127.0.0.1:${port}/gateway`;

  function interaction(
    type: number,
    data: Record<string, unknown>,
    as: { user?: User; permissions?: bigint; dm?: boolean; guild?: string } = {},
    extra: Record<string, unknown> = {},
  ) {
    const id = newId();
    const itoken = `itoken-${id}`;
    replies.set(id, []);
    tokens.set(itoken, id);
    created.set(id, Date.now());
    const user = as.user ?? admin;
    const perms =
      as.permissions ??
      (user === admin
        ? PERMISSIONS.Administrator | PERMISSIONS.ManageGuild | BOT_PERMISSIONS
        : BOT_PERMISSIONS);
    const where = as.dm
      ? {
          channel_id: dmChannels.size ? [...dmChannels.keys()][0] : newId(),
          user: userJson(user),
          context: 1,
        }
      : {
          guild_id: as.guild ?? guildId,
          channel_id: as.guild === otherGuildId ? otherChannel : channels.general,
          member: {
            user: userJson(user),
            roles: [],
            permissions: String(perms),
            joined_at: new Date().toISOString(),
            deaf: false,
            mute: false,
            flags: 0,
          },
          context: 0,
        };
    dispatch(
      "INTERACTION_CREATE",
      {
        id,
        application_id: applicationId,
        type,
        data,
        token: itoken,
        version: 1,
        app_permissions: String(BOT_PERMISSIONS),
        locale: "en-US",
        guild_locale: "en-US",
        entitlements: [],
        authorizing_integration_owners: {},
        attachment_size_limit: 8_000_000,
        ...where,
        ...extra,
      },
      where.guild_id ?? null,
    );
    return id;
  }

  function commandData(
    name: string,
    sub: string | null,
    options: Record<string, unknown>,
    focused?: string,
  ) {
    const command = registered().find((c) => c.name === name) as
      | { id: string; options?: { name: string; options?: { name: string; type: number }[] }[] }
      | undefined;
    const defs = sub
      ? command?.options?.find((o) => o.name === sub)?.options
      : (command?.options as { name: string; type: number }[] | undefined);
    const resolvedChannels: Record<string, unknown> = {};
    const opts: CommandOption[] = Object.entries(options).map(([k, v]) => {
      const type =
        defs?.find((d) => d.name === k)?.type ??
        (typeof v === "boolean" ? 5 : typeof v === "number" ? 4 : 3);
      if (type === 7)
        resolvedChannels[String(v)] = {
          ...channelJson(String(v)),
          permissions: String(BOT_PERMISSIONS),
        };
      return { name: k, type, value: v, ...(focused === k ? { focused: true } : {}) };
    });
    return {
      id: command?.id ?? newId(),
      name,
      type: 1,
      options: sub ? [{ name: sub, type: 1, options: opts }] : opts,
      ...(Object.keys(resolvedChannels).length ? { resolved: { channels: resolvedChannels } } : {}),
    };
  }

  return {
    url: `http://127.0.0.1:${port}/api`,
    webUrl: `http://127.0.0.1:${port}`,
    token,
    applicationId,
    clientSecret,
    authorizeRequests,
    guildId,
    otherGuildId,
    otherChannel,
    botUser,
    owner,
    admin,
    member,
    otherAdmin,
    channels,
    messages,
    requests,
    get commandPuts() {
      return commandPuts;
    },
    registeredCommands: registered,
    globalCommands: () => scopes.get("global") ?? [],
    get identifies() {
      return identifies;
    },
    identified,
    get resumes() {
      return resumes;
    },
    fail(match, fault, times = Number.POSITIVE_INFINITY) {
      faults.push({ match, fault: { ...fault, remaining: times } });
    },
    clearFaults() {
      faults.length = 0;
    },
    setManager(guild, userId, on) {
      const roles = members.get(guild)?.get(userId);
      if (!roles) throw new Error(`fake Discord: ${userId} is not a member of ${guild}`);
      const role = managersRole.get(guild) as string;
      members
        .get(guild)
        ?.set(userId, on ? [...new Set([...roles, role])] : roles.filter((r) => r !== role));
    },
    removeMember: (guild, userId) => void members.get(guild)?.delete(userId),
    removeBot: (guild) => dispatch("GUILD_DELETE", { id: guild }, guild),
    inviteBot: (guild) => dispatch("GUILD_CREATE", guildJson(guild), guild),
    outage: (guild) => dispatch("GUILD_DELETE", { id: guild, unavailable: true }, guild),
    endOutage: (guild) => dispatch("GUILD_CREATE", guildJson(guild), guild),
    left,
    deleteChannel(id) {
      deletedChannels.add(id);
      const channel = channelJson(id);
      dispatch("CHANNEL_DELETE", channel, channel.guild_id);
    },
    dropGateway(downForMs = 0) {
      gatewayDownUntil = Date.now() + downForMs;
      for (const ws of sockets) ws.terminate();
    },
    connected: () => [...sockets].some((ws) => ws.readyState === ws.OPEN),
    command: (name, sub, options, as) => interaction(2, commandData(name, sub, options), as),
    autocomplete: (name, sub, options, focused, as) =>
      interaction(4, commandData(name, sub, options, focused), as),
    button(customId, message, as) {
      return interaction(3, { custom_id: customId, component_type: 2 }, as, {
        message: messageJson(message),
      });
    },
    replies: (id) => replies.get(id) ?? [],
    async waitFor(check, timeoutMs = 15_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const value = await check();
        if (value) return value as never;
        if (Date.now() > end) throw new Error("fake Discord: timed out waiting");
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
