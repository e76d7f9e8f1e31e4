import { type DestinationStream, type Logger, pino } from "pino";
import pretty from "pino-pretty";

export type { Logger };

// Anything that may carry the bot token, a secret, a cookie or an auth header is censored, wherever it is nested.
export const REDACT_PATHS = [
  "token",
  "DISCORD_TOKEN",
  "*.token",
  "*.DISCORD_TOKEN",
  "*.*.token",
  "authorization",
  "*.authorization",
  "*.headers.authorization",
  "*.*.headers.authorization",
  "headers.authorization",
  "*.headers.cookie",
  "headers.cookie",
  "DISCORD_CLIENT_SECRET",
  "*.DISCORD_CLIENT_SECRET",
  "METRICS_TOKEN",
  "*.METRICS_TOKEN",
  "client_secret",
  "*.client_secret",
  "access_token",
  "*.access_token",
];

export type LogFormat = "json" | "pretty";

/**
 * JSON lines for machines (log collectors, `jq`), or one readable line per event for a person
 * at a terminal: `[2026-11-28 08:00:00] INFO: task backup: success in 12 ms {"taskId":"backup"}`.
 * Redaction applies to both.
 */
export function createLogger(
  level: string,
  destination?: DestinationStream,
  format: LogFormat = "json",
): Logger {
  const out =
    format === "pretty"
      ? pretty({
          destination: destination ?? 1,
          colorize: destination === undefined && process.stdout.isTTY === true,
          sync: true,
          singleLine: true,
          translateTime: "SYS:yyyy-mm-dd HH:MM:ss",
          ignore: "pid,hostname",
        })
      : destination;
  return pino({ level, redact: { paths: REDACT_PATHS, censor: "[redacted]" } }, out);
}

/**
 * `log` without redaction, for lines whose every field is one of our own ids, counts, statuses
 * or error texts (a run's attempt and outcome lines, at thousands a second): no redact path can
 * match such a field, and trying the wildcard paths costs ~19 µs a line, four times the rest of
 * writing it. Anything else, handlers' own lines above all, goes through the redacting logger.
 */
export function unredacted(log: Logger): Logger {
  return log.child({}, { redact: { paths: [] } });
}
