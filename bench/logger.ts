import { pino } from "pino";
import { createLogger, type Logger } from "../src/shared/logger.ts";

/** The production logger at `info`, writing to /dev/null: the cost of each line stays in. */
export function devNullLogger(): Logger {
  return createLogger("info", pino.destination({ dest: "/dev/null", sync: true }));
}
