import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, unredacted } from "../src/shared/logger.ts";
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

  it("unredacted writes the same lines to the same place, and leaves its parent redacting", () => {
    const { log, lines } = memoryLogger("info");
    const fields = {
      guildId: "local",
      taskId: "backup",
      runId: "local/backup@2026-11-28T08:00:00.000Z",
    };
    unredacted(log).info(fields, "task backup: success after 1 attempt in 3 ms");
    log.info(fields, "task backup: success after 1 attempt in 3 ms");
    log.info({ token }, "careful");
    const { time: _a, ...fromChild } = lines[0] ?? {};
    const { time: _b, ...fromParent } = lines[1] ?? {};
    expect(fromChild).toEqual(fromParent);
    expect(lines[2]).toMatchObject({ token: "[redacted]" });
  });
});
