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

/** A zone's formatter, and its last few offsets by the whole second they are at. */
interface Zone {
  format: Intl.DateTimeFormat;
  /** [second0, offset0, second1, offset1, ...]; NaN: empty. */
  known: Float64Array;
  i: number;
}

/** The formatter a zone's wall clock is read from. */
export function zoneFormatter(zone: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  });
}

/** The wall clock at a whole second, from the formatter's parts: slower than its text, and plain. */
export function wallClockFromParts(format: Intl.DateTimeFormat, whole: number): number {
  const p: Record<string, number> = {};
  for (const part of format.formatToParts(whole)) {
    if (part.type !== "literal") p[part.type] = Number(part.value);
  }
  return Date.UTC(p.year as number, (p.month as number) - 1, p.day, p.hour, p.minute, p.second);
}

const KNOWN_OFFSETS = 4;
const zones = new Map<string, Zone>();

function zoneOf(name: string): Zone {
  let zone = zones.get(name);
  if (!zone) {
    const format = zoneFormatter(name);
    zone = { format, known: new Float64Array(KNOWN_OFFSETS * 2).fill(Number.NaN), i: 0 };
    zones.set(name, zone);
  }
  return zone;
}

/**
 * The zone's offset from UTC at an instant, in ms (local = instant + offset). The last few
 * answers per zone are kept (a pure function of the whole second): at start-up every pattern
 * in a zone is first asked about the same instant, and formatting an instant is most of the
 * cost of a pattern's next run.
 */
export function offsetAt(ms: number, zone: string): number {
  if (UTC_ZONES.has(zone)) return 0;
  const whole = Math.floor(ms / 1000) * 1000;
  const z = zoneOf(zone);
  const known = z.known;
  for (let j = 0; j < known.length; j += 2) {
    if (known[j] === whole) return known[j + 1] as number;
  }
  let local = wallClockOf(z.format.format(whole));
  if (Number.isNaN(local)) local = wallClockFromParts(z.format, whole);
  const offset = local - whole;
  known[z.i] = whole;
  known[z.i + 1] = offset;
  z.i = (z.i + 2) % known.length;
  return offset;
}

/** The formatter's text: "M/D/Y, HH:MM:SS", its parts joined. */
const FORMATTED = /^(\d+)\/(\d+)\/(\d+), (\d+):(\d+):(\d+)$/;

/**
 * The wall-clock time in the formatter's text, read as its parts would be: several times
 * cheaper than asking for the parts. NaN when the text is not that, and the parts are asked for.
 */
function wallClockOf(text: string): number {
  const m = FORMATTED.exec(text);
  if (!m) return Number.NaN;
  return Date.UTC(
    Number(m[3]),
    Number(m[1]) - 1,
    Number(m[2]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6]),
  );
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
