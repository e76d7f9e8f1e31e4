import { describe, expect, it } from "vitest";
import { loadConfig, loadManagerConfig } from "../src/shared/config.ts";
import { ConfigError } from "../src/shared/errors.ts";

describe("config", () => {
  it("fills defaults and treats empty values as unset", () => {
    const c = loadConfig({
      DISCORD_TOKEN: "",
      DATA_DIR: " ",
      LOG_LEVEL: "",
      DEFAULT_TIMEZONE: "Europe/Paris",
    });
    expect(c.DISCORD_TOKEN).toBeUndefined();
    expect(c).toMatchObject({
      DATA_DIR: "./data",
      MIN_INTERVAL_SECONDS: 60,
      CATCH_UP_WINDOW_MINUTES: 60,
      LOG_LEVEL: "info",
      ADMIN_USER_IDS: [],
      DEFAULT_TIMEZONE: "Europe/Paris",
    });
    expect(typeof loadConfig({}).DEFAULT_TIMEZONE).toBe("string");
  });

  it("parses every variable", () => {
    const c = loadConfig({
      DISCORD_TOKEN: "abc.def.ghi",
      DISCORD_API_URL: "http://127.0.0.1:3000/api",
      DISCORD_GUILD_ID: "123456789012345678",
      BRIEFING_CHANNEL_ID: "223456789012345678",
      ALERT_USER_ID: "323456789012345678",
      ADMIN_USER_IDS: "423456789012345678, 523456789012345678",
      DATA_DIR: "/tmp/x",
      MIN_INTERVAL_SECONDS: "10",
      CATCH_UP_WINDOW_MINUTES: "0",
      LOG_LEVEL: "debug",
      LOG_FORMAT: "pretty",
      RETENTION_DAYS: "7",
      DEFAULT_TIMEZONE: "europe/paris",
    });
    expect([c.LOG_FORMAT, c.RETENTION_DAYS, c.DEFAULT_TIMEZONE]).toEqual([
      "pretty",
      7,
      "Europe/Paris",
    ]);
    expect(c.ADMIN_USER_IDS).toEqual(["423456789012345678", "523456789012345678"]);
    expect([c.MIN_INTERVAL_SECONDS, c.CATCH_UP_WINDOW_MINUTES]).toEqual([10, 0]);
  });

  it.each([
    [
      "MIN_INTERVAL_SECONDS",
      "soon",
      /MIN_INTERVAL_SECONDS must be a whole number, e\.g\. MIN_INTERVAL_SECONDS=60/,
    ],
    ["MIN_INTERVAL_SECONDS", "0", /MIN_INTERVAL_SECONDS must be at least 1/],
    ["CATCH_UP_WINDOW_MINUTES", "1.5", /CATCH_UP_WINDOW_MINUTES must be a whole number/],
    ["DEFAULT_TIMEZONE", "Mars/Base", /DEFAULT_TIMEZONE: "Mars\/Base" is not an IANA time zone/],
    ["LOG_LEVEL", "loud", /LOG_LEVEL must be one of fatal, error, warn, info/],
    ["LOG_FORMAT", "xml", /LOG_FORMAT must be json or pretty/],
    ["RETENTION_DAYS", "0", /RETENTION_DAYS must be at least 1, e\.g\. RETENTION_DAYS=90/],
    ["DEFAULT_TIMEZONE", "EST", /DEFAULT_TIMEZONE: "EST" is an abbreviation.*America\/New_York/],
    ["DISCORD_GUILD_ID", "my-guild", /DISCORD_GUILD_ID must be a Discord id/],
    [
      "ADMIN_USER_IDS",
      "123456789012345678,bob",
      /ADMIN_USER_IDS must be a comma list of Discord ids/,
    ],
    ["DISCORD_API_URL", "not a url", /DISCORD_API_URL must be an http\(s\) URL/],
  ])("refuses %s=%j in one line naming the variable", (name, value, message) => {
    let err: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const text = (err as Error).message;
    expect(text).toMatch(message);
    expect(text).toContain(name);
    expect(text).not.toContain("\n");
  });

  describe("sharding", () => {
    /** The one-line ConfigError of `env`, or the config it parsed to. */
    const outcome = (env: Record<string, string>, load = loadConfig) => {
      try {
        const c = load(env);
        return [c.SHARD_ID, c.SHARD_COUNT];
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
    };

    it("takes SHARD_ID and SHARD_COUNT together, or discord.js's SHARDS for SHARD_ID", () => {
      expect(outcome({})).toEqual([undefined, undefined]);
      expect(outcome({ SHARD_ID: "1", SHARD_COUNT: "2" })).toEqual([1, 2]);
      expect(outcome({ SHARD_ID: "0", SHARD_COUNT: "1" })).toEqual([0, 1]);
      // What discord.js's ShardingManager gives its children: a list, or a bare shard id.
      expect(outcome({ SHARDS: "[1]", SHARD_COUNT: "2" })).toEqual([1, 2]);
      expect(outcome({ SHARDS: "1", SHARD_COUNT: "2" })).toEqual([1, 2]);
      expect(outcome({ SHARDS: "[1]", SHARD_ID: "0", SHARD_COUNT: "2" })).toEqual([0, 2]);
    });

    it.each([
      [
        { SHARD_ID: "0" },
        "Invalid configuration: SHARD_COUNT is missing: SHARD_ID is set, and the two go together, e.g. SHARD_ID=0 and SHARD_COUNT=2 (or neither, for one process)",
      ],
      [
        { SHARD_COUNT: "2" },
        "Invalid configuration: SHARD_ID is missing: SHARD_COUNT is set, and the two go together, e.g. SHARD_ID=0 and SHARD_COUNT=2 (or neither, for one process)",
      ],
      [
        { SHARD_ID: "2", SHARD_COUNT: "2" },
        "Invalid configuration: SHARD_ID must be less than SHARD_COUNT (shards are numbered 0 to 1), e.g. SHARD_ID=1 with SHARD_COUNT=2",
      ],
      [
        { SHARD_ID: "-1", SHARD_COUNT: "2" },
        "Invalid configuration: SHARD_ID must be at least 0, e.g. SHARD_ID=0",
      ],
      [
        { SHARD_ID: "one", SHARD_COUNT: "2" },
        "Invalid configuration: SHARD_ID must be a whole number, e.g. SHARD_ID=0",
      ],
      [
        { SHARD_ID: "0", SHARD_COUNT: "1.5" },
        "Invalid configuration: SHARD_COUNT must be a whole number, e.g. SHARD_COUNT=2",
      ],
      [
        { SHARD_ID: "0", SHARD_COUNT: "0" },
        "Invalid configuration: SHARD_COUNT must be at least 1, e.g. SHARD_COUNT=2",
      ],
      [
        { SHARDS: "[0,1]", SHARD_COUNT: "2" },
        "Invalid configuration: SHARDS must name one shard, as discord.js's ShardingManager does (one shard per process), e.g. SHARDS=[1]; or set SHARD_ID instead",
      ],
    ])("refuses %j in one line", (env, message) => {
      expect(outcome(env)).toBe(message);
    });

    it("start:sharded takes SHARD_COUNT alone, and refuses a SHARD_ID it would give every shard", () => {
      expect(outcome({}, loadManagerConfig)).toEqual([undefined, undefined]);
      expect(outcome({ SHARD_COUNT: "4" }, loadManagerConfig)).toEqual([0, 4]);
      expect(outcome({ SHARD_COUNT: "0" }, loadManagerConfig)).toMatch(
        /SHARD_COUNT must be at least 1/,
      );
      expect(outcome({ SHARD_ID: "1", SHARD_COUNT: "2" }, loadManagerConfig)).toMatch(
        /^Invalid configuration: SHARD_ID must be unset for npm run start:sharded, which gives each process its shard/,
      );
    });
  });
});
