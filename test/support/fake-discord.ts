import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type WebSocket, WebSocketServer } from "ws";

// A small Discord for tests, on 127.0.0.1: the REST routes the bot uses and a gateway that
// speaks HELLO / IDENTIFY -> READY + GUILD_CREATE / heartbeats / RESUME / INTERACTION_CREATE.
// It records what the bot sends (interaction responses, channel messages, DMs, command
// registrations) and injects faults (Discord error codes, 429s, 5xx, a dropped gateway).
// The real discord.js client talks to it through DISCORD_API_URL, as it would to Discord.

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
  url: string;
  token: string;
  applicationId: string;
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
  resumes: number;
  /**
   * Gives or takes the "Managers" role (Manage Server) of a member of `guild`. No gateway event:
   * the bot fetches members fresh, as it must for a permission check.
   */
  setManager(guild: string, userId: string, on: boolean): void;
  /** The user leaves the server (no gateway event either): fetching it then gives 10007. */
  removeMember(guild: string, userId: string): void;
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
  /** Closes the gateway connection as a network drop would; the client resumes. */
  dropGateway(): void;
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
  if ((req.headers["content-type"] ?? "").includes("multipart/form-data")) {
    const m = /name="payload_json"[^\n]*\r?\n(?:[^\n]*\r?\n)*?\r?\n([\s\S]*?)\r?\n--/.exec(text);
    return m ? JSON.parse(m[1] as string) : {};
  }
  return JSON.parse(text);
}

export async function startFakeDiscord(): Promise<FakeDiscord> {
  const token = "fake-token.for-tests.only";
  const applicationId = newId();
  const guildId = newId();
  const otherGuildId = newId();
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
  let resumes = 0;

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
  let socket: WebSocket | null = null;
  let seq = 0;
  const sessionId = "fake-session";
  // Sent dispatches, kept so a RESUME replays what a dropped connection missed, as Discord does.
  const sent: { s: number; payload: string }[] = [];
  const dispatch = (t: string, d: unknown) => {
    const s = ++seq;
    const payload = JSON.stringify({ op: 0, t, s, d });
    sent.push({ s, payload });
    if (sent.length > 500) sent.shift();
    socket?.send(payload);
  };
  server.on("upgrade", (req, sock, head) => {
    wss.handleUpgrade(req, sock, head, (ws) => {
      socket = ws;
      ws.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 41_250 } }));
      ws.on("message", (raw) => {
        const msg = JSON.parse(String(raw)) as { op: number; d: Record<string, unknown> };
        if (msg.op === 1) ws.send(JSON.stringify({ op: 11 }));
        else if (msg.op === 2) {
          if (msg.d.token !== token && msg.d.token !== `Bot ${token}`) {
            ws.close(4004, "Authentication failed");
            return;
          }
          identifies++;
          seq = 0;
          sent.length = 0;
          dispatch("READY", {
            v: 10,
            user: { ...userJson(botUser), verified: true, mfa_enabled: false, flags: 0 },
            guilds: [
              { id: guildId, unavailable: true },
              { id: otherGuildId, unavailable: true },
            ],
            session_id: sessionId,
            resume_gateway_url: gatewayUrl,
            application: { id: applicationId, flags: 0 },
            shard: [0, 1],
          });
          dispatch("GUILD_CREATE", guildJson());
          dispatch("GUILD_CREATE", guildJson(otherGuildId));
        } else if (msg.op === 6) {
          resumes++;
          for (const e of sent) if (e.s > Number(msg.d.seq ?? 0)) ws.send(e.payload);
          dispatch("RESUMED", {});
        }
      });
    });
  });

  // ---- REST
  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://x");
    const path = decodeURIComponent(url.pathname).replace(/^\/api(\/v\d+)?/, "");
    const method = req.method ?? "GET";
    requests.push({ method, path, at: Date.now() });
    const body = method === "GET" || method === "DELETE" ? {} : await readBody(req);
    if (
      !path.startsWith("/interactions/") &&
      !path.startsWith("/webhooks/") &&
      req.headers.authorization !== `Bot ${token}`
    ) {
      return json(res, 401, { message: "401: Unauthorized", code: 0 });
    }
    const key = `${method} ${path}`;
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

    let m: RegExpExecArray | null;
    if (key === "GET /gateway/bot") {
      return json(res, 200, {
        url: gatewayUrl,
        shards: 1,
        session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 1 },
      });
    }
    if (key === "GET /users/@me") return json(res, 200, userJson(botUser));
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
      dispatch("GUILD_DELETE", { id: m[1] });
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
    dispatch("INTERACTION_CREATE", {
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
    });
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
    token,
    applicationId,
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
    removeBot: (guild) => dispatch("GUILD_DELETE", { id: guild }),
    inviteBot: (guild) => dispatch("GUILD_CREATE", guildJson(guild)),
    outage: (guild) => dispatch("GUILD_DELETE", { id: guild, unavailable: true }),
    endOutage: (guild) => dispatch("GUILD_CREATE", guildJson(guild)),
    left,
    deleteChannel(id) {
      deletedChannels.add(id);
      dispatch("CHANNEL_DELETE", channelJson(id));
    },
    dropGateway() {
      socket?.terminate();
      socket = null;
    },
    connected: () => socket !== null && socket.readyState === socket.OPEN,
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
