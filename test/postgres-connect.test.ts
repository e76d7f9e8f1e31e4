import { Writable } from "node:stream";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/shared/config.ts";
import { ConfigError, StartupError } from "../src/shared/errors.ts";
import { createLogger } from "../src/shared/logger.ts";
import { connectPostgres, redactUrl } from "../src/store/pg/connect.ts";
import { type FreshDatabase, freshDatabase, withClient } from "./support/postgres.ts";
import { freePort } from "./support/process.ts";

function capturedLog() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      cb();
    },
  });
  return { log: createLogger("info", stream as never), lines };
}

/** A clock that only moves when the code under test sleeps. */
function fakeTime() {
  let t = 1_000_000;
  const waits: number[] = [];
  return {
    now: () => t,
    sleep: async (ms: number) => {
      waits.push(ms);
      t += ms;
    },
    waits,
  };
}

/** host:port as messages name it. */
const targetOf = (url: string | URL) => {
  const u = new URL(url);
  return `${u.hostname}:${u.port || 5432}`;
};

const tableExists = (url: string, table: string) =>
  withClient(url, async (c) => {
    const r = await c.query("SELECT to_regclass($1) AS t", [table]);
    return r.rows[0].t !== null;
  });

describe("the PostgreSQL test harness", () => {
  let a: FreshDatabase;
  let b: FreshDatabase;
  beforeAll(async () => {
    [a, b] = await Promise.all([freshDatabase(), freshDatabase()]);
  });
  afterAll(async () => {
    await Promise.all([a?.drop(), b?.drop()]);
  });

  it("gives each caller its own empty database", async () => {
    expect(a.name).not.toBe(b.name);
    expect(new URL(a.url).pathname).toBe(`/${a.name}`);
    await withClient(a.url, (c) => c.query("CREATE TABLE only_in_a (id int)"));
    expect(await tableExists(a.url, "only_in_a")).toBe(true);
    expect(await tableExists(b.url, "only_in_a")).toBe(false);
    const names = await withClient(a.url, async (c) => {
      const r = await c.query("SELECT current_database() AS db");
      return r.rows[0].db;
    });
    expect(names).toBe(a.name);
  });

  it("drops a database even while something is connected to it", async () => {
    const db = await freshDatabase();
    const client = new pg.Client({ connectionString: db.url });
    const lost = new Promise<Error>((resolve) => client.on("error", resolve));
    await client.connect();
    await client.query("CREATE TABLE t (id int)");
    await db.drop();
    expect((await lost).message).toMatch(/terminat/i);
    await client.end().catch(() => {});
    await expect(withClient(db.url, async () => {})).rejects.toThrow(
      `database "${db.name}" does not exist`,
    );
    await db.drop(); // twice: no error
  });
});

describe("connectPostgres", () => {
  let db: FreshDatabase;
  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(() => db?.drop());

  it("returns a pool on a reachable database, logging where without the password", async () => {
    const { log, lines } = capturedLog();
    const pool = await connectPostgres(db.url, { log });
    try {
      const r = await pool.query("SELECT current_database() AS db");
      expect(r.rows[0].db).toBe(db.name);
    } finally {
      await pool.end();
    }
    const password = decodeURIComponent(new URL(db.url).password);
    expect(password.length).toBeGreaterThan(0);
    expect(lines.join("\n")).toContain(`connected to PostgreSQL at ${targetOf(db.url)}`);
    expect(lines.join("\n")).not.toContain(password);
  });

  it("retries an unreachable server with backoff, then names host:port and never the password", async () => {
    const port = await freePort(); // nothing listens there
    const url = `postgres://mission:s3cret-pw@127.0.0.1:${port}/mission_control`;
    const { log, lines } = capturedLog();
    const time = fakeTime();
    const started = Date.now();
    const err = await connectPostgres(url, {
      log,
      timeoutMs: 1_500,
      now: time.now,
      sleep: time.sleep,
    }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(err).toBeInstanceOf(StartupError);
    expect((err as Error).message).toBe(
      `Cannot reach PostgreSQL at 127.0.0.1:${port} (ECONNREFUSED) after 1.5 s; check DATABASE_URL and that the server is running`,
    );
    // Exponential, and never past the bound.
    expect(time.waits).toEqual([250, 500, 750]);
    const warns = lines.map((l) => JSON.parse(l)).filter((l) => l.level === 40);
    expect(warns).toHaveLength(3);
    expect(warns[0].msg).toBe(
      `PostgreSQL at 127.0.0.1:${port} is not reachable (ECONNREFUSED); retrying in 250 ms`,
    );
    expect(lines.join("\n")).not.toContain("s3cret-pw");
  });

  it("retries with real waits when no sleep is given", async () => {
    const port = await freePort();
    const { log, lines } = capturedLog();
    const started = Date.now();
    await expect(
      connectPostgres(`postgres://u:pw@127.0.0.1:${port}/db`, {
        log,
        timeoutMs: 400,
        firstDelayMs: 100,
      }),
    ).rejects.toThrow(`(ECONNREFUSED) after 400 ms`);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(380);
    expect(took).toBeLessThan(3_000);
    expect(lines.filter((l) => l.includes("retrying")).length).toBeGreaterThanOrEqual(2);
  });

  // (On a DATABASE_URL server that trusts every login this one cannot pass: use one that checks.)
  it("fails at once on a wrong password, naming the problem", async () => {
    const url = new URL(db.url);
    url.password = "wrong-pw-123";
    const time = fakeTime();
    const { log } = capturedLog();
    const err = await connectPostgres(url.toString(), { log, ...time }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StartupError);
    expect((err as Error).message).toBe(
      `PostgreSQL at ${targetOf(url)} refused the login: password authentication failed for user "${decodeURIComponent(url.username)}"; check the user and password in DATABASE_URL`,
    );
    expect(time.waits).toEqual([]);
  });

  it("fails at once on a database that does not exist", async () => {
    const url = new URL(db.url);
    url.pathname = "/no_such_db";
    const time = fakeTime();
    const { log } = capturedLog();
    const err = await connectPostgres(url.toString(), { log, ...time }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StartupError);
    expect((err as Error).message).toBe(
      `PostgreSQL at ${targetOf(url)}: database "no_such_db" does not exist; create it or fix the database name in DATABASE_URL`,
    );
    expect(time.waits).toEqual([]);
  });
});

describe("redactUrl", () => {
  it("hides the password wherever the URL carries one", () => {
    expect(redactUrl("postgres://mission:s3cret@db.example.com:5432/mc")).toBe(
      "postgres://mission:***@db.example.com:5432/mc",
    );
    expect(redactUrl("postgresql://mission@db/mc?password=s3cret&sslmode=require")).toBe(
      "postgresql://mission@db/mc?password=***&sslmode=require",
    );
    expect(redactUrl("postgres://db.example.com/mc")).toBe("postgres://db.example.com/mc");
    expect(redactUrl("postgres://mission:s3cret@[bad/mc")).not.toContain("s3cret");
  });
});

describe("DATABASE_URL in the config", () => {
  it("accepts postgres:// and postgresql:// URLs; empty is unset", () => {
    const url = "postgres://mission:s3cret@localhost:5432/mission_control";
    expect(loadConfig({ DATABASE_URL: url }).DATABASE_URL).toBe(url);
    expect(loadConfig({ DATABASE_URL: "postgresql://h/db" }).DATABASE_URL).toBe(
      "postgresql://h/db",
    );
    expect(loadConfig({ DATABASE_URL: "" }).DATABASE_URL).toBeUndefined();
  });

  it("refuses any other URL in one line that does not echo it", () => {
    let err: unknown;
    try {
      loadConfig({ DATABASE_URL: "mysql://root:s3cret@localhost/mc" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(
      "Invalid configuration: DATABASE_URL must be a postgres:// or postgresql:// URL, e.g. postgres://mission:secret@localhost:5432/mission_control",
    );
  });
});
