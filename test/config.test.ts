import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/shared/config.ts";
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
});
