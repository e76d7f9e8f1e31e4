import pg from "pg";
import { StartupError } from "../../shared/errors.ts";
import type { Logger } from "../../shared/logger.ts";

// Opening the PostgreSQL of DATABASE_URL at start. A server that cannot be reached yet (it is
// starting, or its container is) is retried with exponential backoff for a bounded time; a
// server that answers "no" (wrong password, no such database) fails at once, naming the problem.
// No message or log line carries the URL's password.

export interface ConnectOptions {
  log: Logger;
  /** How long an unreachable server is retried, in all. Default 30 s. */
  timeoutMs?: number;
  /** The first wait between attempts; each next one doubles, up to maxDelayMs. Default 250 ms. */
  firstDelayMs?: number;
  /** Default 5 s. */
  maxDelayMs?: number;
  /** Tests pass a fake clock. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Passed to pg.Pool (size, idle timeout…); the connection string is the url. */
  pool?: Omit<pg.PoolConfig, "connectionString">;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** Node's codes for a server that is not there (yet), or a network between us that is down. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
]);

/** SQLSTATEs of a server that is up but not accepting this connection yet. */
const NOT_READY_STATES = new Set([
  "57P03", // cannot_connect_now: starting up, shutting down, in recovery
  "53300", // too_many_connections
]);

/**
 * The URL with its password (in the user info or a `password` / `sslpassword` parameter)
 * replaced by `***`, for messages and logs.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not a URL we can take apart: hide anything between "://user:" and the last "@".
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*):[^/]*@/i, "$1:***@");
  }
  if (parsed.password) parsed.password = "***";
  for (const key of ["password", "sslpassword"]) {
    if (parsed.searchParams.has(key)) parsed.searchParams.set(key, "***");
  }
  return parsed.toString();
}

/** `host:port` of a PostgreSQL URL, as messages name it (a socket folder stands for the host). */
export function postgresTarget(url: string): string {
  try {
    const parsed = new URL(url);
    const host = parsed.searchParams.get("host") || parsed.hostname || "localhost";
    const port = parsed.port || parsed.searchParams.get("port") || "5432";
    return `${host}:${port}`;
  } catch {
    return "(an unreadable DATABASE_URL)";
  }
}

/** The passwords of a URL, to be scrubbed from any text that might echo them. */
function secretsOf(url: string): string[] {
  try {
    const parsed = new URL(url);
    return [
      parsed.password && decodeURIComponent(parsed.password),
      parsed.password,
      parsed.searchParams.get("password"),
      parsed.searchParams.get("sslpassword"),
    ].filter((s): s is string => Boolean(s));
  } catch {
    return [];
  }
}

function scrub(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join("***");
  return out;
}

interface Failure {
  /** ECONNREFUSED, 28P01, "timed out"… */
  code: string;
  message: string;
  retry: boolean;
}

function classify(err: unknown): Failure {
  const e = err as { code?: unknown; message?: unknown; errors?: { code?: unknown }[] };
  // Node 20 tries every address of a name (::1 and 127.0.0.1 for localhost) and throws an
  // AggregateError with an empty message; its code, or its first error's, says what happened.
  const code =
    typeof e?.code === "string"
      ? e.code
      : typeof e?.errors?.[0]?.code === "string"
        ? e.errors[0].code
        : "";
  const message = typeof e?.message === "string" && e.message ? e.message : code || String(err);
  if (NETWORK_CODES.has(code)) return { code, message, retry: true };
  if (NOT_READY_STATES.has(code) || code.startsWith("08")) return { code, message, retry: true };
  if (/timeout expired/i.test(message)) return { code: "timed out", message, retry: true };
  if (/Connection terminated/i.test(message))
    return { code: "connection closed", message, retry: true };
  return { code, message, retry: false };
}

function refusal(target: string, failure: Failure): StartupError {
  const { code, message } = failure;
  if (code === "28P01" || code === "28000")
    return new StartupError(
      `PostgreSQL at ${target} refused the login: ${message}; check the user and password in DATABASE_URL`,
    );
  if (code === "3D000")
    return new StartupError(
      `PostgreSQL at ${target}: ${message}; create it or fix the database name in DATABASE_URL`,
    );
  return new StartupError(
    `Cannot connect to PostgreSQL at ${target}: ${message}; check DATABASE_URL`,
  );
}

/** 250 ms, 1.5 s, 30 s. */
const duration = (ms: number) =>
  ms < 1_000 ? `${Math.round(ms)} ms` : `${Number((ms / 1_000).toFixed(1))} s`;

/**
 * A pool on the PostgreSQL of `url`, once one connection has logged in. Unreachable: retried
 * (a warn line each time) for `timeoutMs`, then a StartupError naming host:port and the cause.
 * Refused (login, database): a StartupError at once.
 */
export async function connectPostgres(url: string, opts: ConnectOptions): Promise<pg.Pool> {
  const { log } = opts;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const maxDelayMs = opts.maxDelayMs ?? 5_000;
  const target = postgresTarget(url);
  const secrets = secretsOf(url);
  const deadline = now() + timeoutMs;
  let delay = opts.firstDelayMs ?? 250;

  for (let attempt = 1; ; attempt++) {
    const remaining = deadline - now();
    const client = new pg.Client({
      connectionString: url,
      // An attempt never outlives the bound (a host that drops packets would hang ~2 min).
      connectionTimeoutMillis: Math.max(1_000, Math.min(remaining, 10_000)),
    });
    client.on("error", () => {}); // reported through connect()'s rejection
    let failure: Failure | undefined;
    try {
      await client.connect();
    } catch (err) {
      const found = classify(err);
      failure = { ...found, message: scrub(found.message, secrets) };
    } finally {
      await client.end().catch(() => {});
    }
    if (!failure) break;
    if (!failure.retry) throw refusal(target, failure);
    const left = deadline - now();
    if (left <= 0)
      throw new StartupError(
        `Cannot reach PostgreSQL at ${target} (${failure.code}) after ${duration(timeoutMs)}; check DATABASE_URL and that the server is running`,
      );
    const wait = Math.min(delay, left);
    log.warn(
      { target, code: failure.code, attempt, retryInMs: wait },
      `PostgreSQL at ${target} is not reachable (${failure.code}); retrying in ${duration(wait)}`,
    );
    await sleep(wait);
    delay = Math.min(delay * 2, maxDelayMs);
  }

  const pool = new pg.Pool({ ...opts.pool, connectionString: url });
  // An idle connection the server closes (restart, failover) must not crash the process; the
  // next query opens a new one.
  const lost = (err: Error) =>
    log.warn({ target }, `PostgreSQL connection lost: ${scrub(classify(err).message, secrets)}`);
  pool.on("error", lost);
  // So is one cut while checked out between two queries: pg then emits "error" on the client,
  // which must have a listener from its first moment.
  pool.on("connect", (client) => client.on("error", lost));
  log.info({ target, url: redactUrl(url) }, `connected to PostgreSQL at ${target}`);
  return pool;
}
