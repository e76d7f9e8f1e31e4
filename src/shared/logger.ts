import { type DestinationStream, type Logger, pino } from "pino";

export type { Logger };

// Anything that may carry the bot token or an auth header is censored, wherever it is nested.
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
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: "[redacted]" } }, destination);
}
