import { randomBytes } from "node:crypto";

// Who is logged in, kept in memory: a restart logs everyone out, which is acceptable for a
// dashboard and keeps no credential on disk. The cookie holds only a random id.

export type Viewer =
  /** The bot's operator, through the local login link: every server. */
  | { kind: "operator"; name: string }
  /** A Discord user, through OAuth2; `guildIds` only narrows the live checks, never grants. */
  | { kind: "discord"; userId: string; name: string; guildIds: string[] };

export interface Session {
  id: string;
  viewer: Viewer;
  /** The token every form of this session carries (CSRF). */
  csrf: string;
  expiresAt: number;
  /** A one-time notice for the next page ("Task disabled."). */
  flash: { kind: "ok" | "error"; text: string } | null;
}

export const SESSION_TTL_MS = 7 * 86_400_000;
/** Old sessions are dropped first when this many are open (a bound, not a feature). */
const MAX_SESSIONS = 10_000;

export const newSecret = (): string => randomBytes(32).toString("base64url");

export class SessionStore {
  readonly #sessions = new Map<string, Session>();

  constructor(private readonly now: () => number) {}

  create(viewer: Viewer): Session {
    if (this.#sessions.size >= MAX_SESSIONS) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest) this.#sessions.delete(oldest);
    }
    const session: Session = {
      id: newSecret(),
      viewer,
      csrf: newSecret(),
      expiresAt: this.now() + SESSION_TTL_MS,
      flash: null,
    };
    this.#sessions.set(session.id, session);
    return session;
  }

  get(id: string | undefined): Session | null {
    if (!id) return null;
    const session = this.#sessions.get(id);
    if (!session) return null;
    if (session.expiresAt <= this.now()) {
      this.#sessions.delete(id);
      return null;
    }
    return session;
  }

  delete(id: string): void {
    this.#sessions.delete(id);
  }
}

/**
 * One-time login links for the operator, as a notebook server prints: each works once, within
 * `ttlMs` of being made.
 */
export class LocalLogins {
  readonly #tokens = new Map<string, number>();

  constructor(
    private readonly now: () => number,
    private readonly ttlMs = 15 * 60_000,
  ) {}

  issue(): string {
    const token = newSecret();
    for (const [t, expires] of this.#tokens) if (expires <= this.now()) this.#tokens.delete(t);
    this.#tokens.set(token, this.now() + this.ttlMs);
    return token;
  }

  /** True once for a token that was issued and has not expired. */
  redeem(token: string): boolean {
    const expires = this.#tokens.get(token);
    this.#tokens.delete(token);
    return expires !== undefined && expires > this.now();
  }
}
