import { createHash } from "node:crypto";
import { MissionControlError } from "../shared/errors.ts";
import { newSecret, type Viewer } from "./sessions.ts";

// "Log in with Discord": the OAuth2 authorization code flow with state and PKCE (RFC 7636).
// The bot's own application is the OAuth2 client; only `identify guilds` is asked for, and the
// access token is used once, at login, then dropped.

export const SCOPES = "identify guilds";
/** A login not finished within this long must start again. */
const PENDING_MS = 10 * 60_000;

/** A login that did not complete, with what the person can do about it. */
export class LoginError extends MissionControlError {
  override name = "LoginError";
}

export interface OAuthSettings {
  /** The application id (the bot's client id). */
  clientId: () => string;
  clientSecret: string;
  /** Discord's REST base, e.g. https://discord.com/api (the token endpoint and /users/@me). */
  apiUrl: string;
  /** Where the authorize page lives, e.g. https://discord.com. */
  webUrl: string;
  /** PUBLIC_URL + /auth/callback, as registered in the developer portal. */
  redirectUri: () => string;
  now: () => number;
  fetch?: typeof fetch;
}

const challengeOf = (verifier: string) => createHash("sha256").update(verifier).digest("base64url");

export class DiscordOAuth {
  /** state -> the PKCE verifier and when the login started. */
  readonly #pending = new Map<string, { verifier: string; startedAt: number }>();

  constructor(private readonly s: OAuthSettings) {}

  /** A new login: the authorize URL to send the browser to, and the state it comes back with. */
  start(): { url: string; state: string } {
    const now = this.s.now();
    for (const [state, p] of this.#pending)
      if (now - p.startedAt > PENDING_MS) this.#pending.delete(state);
    const state = newSecret();
    const verifier = newSecret();
    this.#pending.set(state, { verifier, startedAt: now });
    const q = new URLSearchParams({
      client_id: this.s.clientId(),
      redirect_uri: this.s.redirectUri(),
      response_type: "code",
      scope: SCOPES,
      state,
      code_challenge: challengeOf(verifier),
      code_challenge_method: "S256",
      prompt: "none",
    });
    return { url: `${this.s.webUrl}/oauth2/authorize?${q}`, state };
  }

  /** Trades the code for who the person is; the state must be one this process handed out. */
  async finish(state: string, code: string): Promise<Viewer> {
    const pending = this.#pending.get(state);
    this.#pending.delete(state);
    if (!pending || this.s.now() - pending.startedAt > PENDING_MS)
      throw new LoginError("This login link has expired or was already used; log in again.");
    const token = await this.#call<{ access_token: string }>("/oauth2/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        client_id: this.s.clientId(),
        client_secret: this.s.clientSecret,
        grant_type: "authorization_code",
        code,
        redirect_uri: this.s.redirectUri(),
        code_verifier: pending.verifier,
      }),
    });
    const auth = { headers: { authorization: `Bearer ${token.access_token}` } };
    const [me, guilds] = await Promise.all([
      this.#call<{ id: string; username: string; global_name?: string | null }>("/users/@me", auth),
      this.#call<{ id: string }[]>("/users/@me/guilds", auth),
    ]);
    return {
      kind: "discord",
      userId: me.id,
      name: me.global_name || me.username,
      guildIds: guilds.map((g) => g.id),
    };
  }

  async #call<T>(path: string, init: RequestInit): Promise<T> {
    const res = await (this.s.fetch ?? fetch)(`${this.s.apiUrl}/v10${path}`, {
      ...init,
      signal: AbortSignal.timeout(10_000),
    }).catch((err: Error) => {
      throw new LoginError(`Discord could not be reached (${err.message}); try again.`);
    });
    if (res.ok) return (await res.json()) as T;
    // Discord's OAuth2 errors name the problem ("invalid_grant"); none of them carry secrets.
    const body = (await res.json().catch(() => ({}))) as { error?: string; message?: string };
    throw new LoginError(
      `Discord refused the login (${res.status} ${body.error ?? body.message ?? ""}); log in again. If it keeps failing, check DISCORD_CLIENT_SECRET and that PUBLIC_URL/auth/callback is a redirect in the developer portal.`,
    );
  }
}
