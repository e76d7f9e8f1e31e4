// Wall-clock time in a zone ↔ instants, with the one daylight-saving rule every schedule follows:
// a local time that does not exist (clocks jump forward) runs at the first instant after the
// gap; a local time that happens twice (clocks go back) runs once, at its first occurrence.
// A wall-clock time is written as the epoch ms it would be in UTC ("naive" ms).

const DAY_MS = 86_400_000;

export const UTC_ZONES = new Set([
  "UTC",
  "Etc/UTC",
  "Etc/Universal",
  "Etc/Zulu",
  "Universal",
  "Zulu",
]);

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The zone's offset from UTC at an instant, in ms (local = instant + offset). */
export function offsetAt(ms: number, zone: string): number {
  if (UTC_ZONES.has(zone)) return 0;
  const whole = Math.floor(ms / 1000) * 1000;
  const p: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(whole)) {
    if (part.type !== "literal") p[part.type] = Number(part.value);
  }
  const local = Date.UTC(
    p.year as number,
    (p.month as number) - 1,
    p.day,
    p.hour,
    p.minute,
    p.second,
  );
  return local - whole;
}

/** The wall-clock time (naive ms) of an instant in a zone. */
export function toWallClock(ms: number, zone: string): number {
  return ms + offsetAt(ms, zone);
}

export interface Placed {
  /** The instant the wall-clock time runs at, by the rule above. */
  at: number;
  /** "gap": the time does not exist that day; "twice": it happens twice; else "exact". */
  kind: "exact" | "gap" | "twice";
  /** For "twice": the wall-clock time at which the repeated stretch ends. */
  repeatEnds?: number;
}

/** Where a wall-clock time falls in a zone, by the one daylight-saving rule. */
export function placeWallClock(naive: number, zone: string): Placed {
  const early = offsetAt(naive - DAY_MS, zone);
  const late = offsetAt(naive + DAY_MS, zone);
  if (early === late) return { at: naive - early, kind: "exact" };
  const first = naive - early;
  const second = naive - late;
  const firstOk = offsetAt(first, zone) === early;
  const secondOk = offsetAt(second, zone) === late;
  if (firstOk && secondOk && first !== second) {
    const change = transitionIn(Math.min(first, second), Math.max(first, second), late, zone);
    return { at: Math.min(first, second), kind: "twice", repeatEnds: change + early };
  }
  if (firstOk) return { at: first, kind: "exact" };
  if (secondOk) return { at: second, kind: "exact" };
  // In a gap: the first instant after it is the moment the clocks changed.
  return {
    at: transitionIn(Math.min(first, second), Math.max(first, second), late, zone),
    kind: "gap",
  };
}

/** The first instant in (from, to] whose offset is `after`, to the second. */
function transitionIn(from: number, to: number, after: number, zone: string): number {
  let lo = from;
  let hi = to;
  while (hi - lo > 1000) {
    const mid = Math.floor((lo + hi) / 2000) * 1000;
    if (mid <= lo) break;
    if (offsetAt(mid, zone) === after) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** "HH:MM" of a wall-clock time. */
export function hhmm(naive: number): string {
  return new Date(naive).toISOString().slice(11, 16);
}
