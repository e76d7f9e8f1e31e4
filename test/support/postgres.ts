import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";

// Real PostgreSQL for tests: the server of DATABASE_URL when it is set, else a throwaway one that
// test/support/postgres-global.ts (vitest globalSetup) starts the first time a test asks for it
// and stops after the run. Each test file (or test) takes its own empty database:
//
//   let db: Awaited<ReturnType<typeof freshDatabase>>;
//   beforeAll(async () => { db = await freshDatabase(); });
//   afterAll(() => db.drop());
//
// PostgreSQL that cannot be started fails the test with one line saying why, and that setting
// DATABASE_URL to a server is the alternative; it is never skipped.

export interface FreshDatabase {
  /** postgres://…/<name>: the database, for connectPostgres, pg.Pool, a child process's env. */
  url: string;
  /** mc_test_<random>. */
  name: string;
  /** Ends every connection to it, then drops it. Safe to call twice. */
  drop(): Promise<void>;
}

let server: Promise<string> | undefined;

/** The server's URL (a user that may CREATE DATABASE), starting the throwaway one if need be. */
export function postgresServerUrl(): Promise<string> {
  server ??= locateServer();
  return server;
}

async function locateServer(): Promise<string> {
  const provided = inject("postgres");
  if (provided?.databaseUrl) return provided.databaseUrl;
  if (!provided?.controlUrl) {
    if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
    throw new Error(
      "no PostgreSQL for the tests: test/support/postgres-global.ts is not in vitest.config.ts's globalSetup, and DATABASE_URL is not set",
    );
  }
  const res = await fetch(`${provided.controlUrl}/server`, { method: "POST" });
  const body = (await res.json()) as { url?: string; error?: string };
  if (!body.url) throw new Error(body.error ?? `the PostgreSQL harness answered ${res.status}`);
  return body.url;
}

/**
 * A pool for a test to reach the database directly. Like the app's (store/pg/connect.ts), it
 * and its connections listen for errors: a connection ended by `drop()` (or by PostgreSQL, or a
 * test's cut) is not a crash of the test run.
 */
export function testPool(url: string, opts: pg.PoolConfig = {}): pg.Pool {
  const pool = new pg.Pool({ ...opts, connectionString: url });
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  return pool;
}

/** Runs `fn` on one connection to `url`, then closes it. */
export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** The same server and login, another database. */
function urlOf(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** A new, empty database on the test server, for one test file or test. */
export async function freshDatabase(): Promise<FreshDatabase> {
  const serverUrl = await postgresServerUrl();
  const name = `mc_test_${randomBytes(8).toString("hex")}`;
  await withClient(serverUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  let dropped: Promise<void> | undefined;
  return {
    url: urlOf(serverUrl, name),
    name,
    drop() {
      dropped ??= withClient(serverUrl, async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      });
      return dropped;
    },
  };
}
