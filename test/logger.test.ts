import { describe, expect, it } from "vitest";
import { memoryLogger } from "./support/world.ts";

describe("logger", () => {
  it("never writes the bot token or an auth header", () => {
    const token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gabcde.secret-token-value";
    const { log, lines } = memoryLogger("info");
    log.info(
      {
        token,
        config: { DISCORD_TOKEN: token },
        req: { headers: { authorization: `Bot ${token}` } },
      },
      "hello",
    );
    log.info({ DISCORD_TOKEN: token }, "again");
    const text = JSON.stringify(lines);
    expect(lines).toHaveLength(2);
    expect(text).not.toContain("secret-token-value");
    expect(lines[0]).toMatchObject({
      token: "[redacted]",
      config: { DISCORD_TOKEN: "[redacted]" },
    });
  });
});
