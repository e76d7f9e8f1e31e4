import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../src/shared/logger.ts";
import { memoryLogger } from "./support/world.ts";

const token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gabcde.secret-token-value";

function prettyLines(): { log: ReturnType<typeof createLogger>; text: () => string } {
  let text = "";
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  return { log: createLogger("info", stream as never, "pretty"), text: () => text };
}

describe("logger", () => {
  it("never writes the bot token or an auth header", () => {
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

  it("writes one readable line per event in the pretty format, redacted too", () => {
    const { log, text } = prettyLines();
    log.info({ taskId: "backup", durationMs: 12 }, "task backup: success in 12 ms");
    log.warn({ token }, "careful");
    const lines = text().trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] INFO: task backup: success in 12 ms \{"taskId":"backup","durationMs":12\}$/,
    );
    expect(lines[1]).toMatch(/^\[[^\]]+\] WARN: careful \{"token":"\[redacted\]"\}$/);
  });
});
