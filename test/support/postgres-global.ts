import { createServer } from "node:http";
import type { TestProject } from "vitest/node";
import {
  type EmbeddedPostgres,
  PostgresUnavailableError,
  startEmbeddedPostgres,
} from "./postgres-server.ts";

// vitest globalSetup: one PostgreSQL server for the whole run, shared by every test file.
//
// DATABASE_URL set: that server, nothing started. Otherwise a throwaway one (postgres-server.ts)
// started on first use, so runs whose files need no database pay nothing: this setup only opens
// a tiny HTTP endpoint on 127.0.0.1, and the first freshDatabase() in any worker asks it for the
// server (test/support/postgres.ts). The teardown stops the server and removes its folder, also
// when tests fail.

let server: Promise<EmbeddedPostgres> | undefined;

export default async function setup(project: TestProject) {
  const fromEnv = process.env.DATABASE_URL?.trim();
  if (fromEnv) {
    project.provide("postgres", { databaseUrl: fromEnv, controlUrl: null });
    return;
  }
  const control = createServer((req, res) => {
    if (req.method !== "POST" || req.url !== "/server") {
      res.writeHead(404).end();
      return;
    }
    server ??= startEmbeddedPostgres();
    server.then(
      (s) =>
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ url: s.url })),
      (err: unknown) => {
        const error =
          err instanceof PostgresUnavailableError
            ? err.message
            : new PostgresUnavailableError(String((err as Error)?.message ?? err)).message;
        res.writeHead(503, { "content-type": "application/json" }).end(JSON.stringify({ error }));
      },
    );
  });
  await new Promise<void>((r) => control.listen(0, "127.0.0.1", r));
  control.unref();
  const { port } = control.address() as { port: number };
  project.provide("postgres", { databaseUrl: null, controlUrl: `http://127.0.0.1:${port}` });

  return async function teardown() {
    control.closeAllConnections();
    await new Promise((r) => control.close(r));
    const started = server;
    server = undefined;
    await started?.then(
      (s) => s.stop(),
      () => {},
    );
  };
}
