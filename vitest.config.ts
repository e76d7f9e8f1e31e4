import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // PostgreSQL for the tests that use it: DATABASE_URL, or one started on first use.
    globalSetup: ["test/support/postgres-global.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
