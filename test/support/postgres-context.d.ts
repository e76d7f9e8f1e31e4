// What test/support/postgres-global.ts provides to the test files (vitest's inject("postgres")).
import "vitest";

declare module "vitest" {
  interface ProvidedContext {
    /**
     * Exactly one is set: databaseUrl when DATABASE_URL was set for the run (that server is used),
     * else controlUrl, where the first freshDatabase() asks for the throwaway server, started then.
     */
    postgres: { databaseUrl: string | null; controlUrl: string | null };
  }
}
