import { RETRY_CAP_SECONDS, type Task } from "../tasks/model.ts";

/**
 * Wait before attempt `attempt + 1`: fixed, or doubling per attempt; capped at 15 minutes, then
 * spread by ±20% so tasks that failed together do not retry in lockstep.
 */
export function retryDelayMs(retry: Task["retry"], attempt: number, random: () => number): number {
  const base =
    retry.backoff === "fixed" ? retry.delaySeconds : retry.delaySeconds * 2 ** (attempt - 1);
  const capped = Math.min(base, RETRY_CAP_SECONDS) * 1000;
  return Math.round(Math.min(capped * (0.8 + 0.4 * random()), RETRY_CAP_SECONDS * 1000));
}
