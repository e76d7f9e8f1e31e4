import { MissionControlError } from "../shared/errors.ts";

const UNIT_DAYS: Record<string, number> = { h: 1 / 24, d: 1, w: 7 };

/** "30d", "2w", "12h" (a bare number is days) → days. */
export function parseAge(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([hdw]?)\s*$/i.exec(text);
  const days = m ? Number(m[1]) * (UNIT_DAYS[(m[2] || "d").toLowerCase()] as number) : Number.NaN;
  if (!(days > 0))
    throw new MissionControlError(
      `--older-than: an age in hours, days or weeks, more than 0 — e.g. 30d, 2w or 12h (got "${text}")`,
    );
  return days;
}
