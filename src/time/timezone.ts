import { didYouMean } from "../shared/suggest.ts";

const EXAMPLE_ZONES = "Europe/Paris, America/New_York, Asia/Tokyo or UTC";

/**
 * Abbreviations people type for a zone, and the zone they usually mean. They are refused: EST
 * is a fixed UTC−5 all year (an hour off for New York in summer), and most are not zones at all.
 */
const ABBREVIATIONS: Record<string, string> = {
  EST: "America/New_York",
  EDT: "America/New_York",
  CST: "America/Chicago",
  CDT: "America/Chicago",
  MST: "America/Denver",
  MDT: "America/Denver",
  PST: "America/Los_Angeles",
  PDT: "America/Los_Angeles",
  AKST: "America/Anchorage",
  HST: "Pacific/Honolulu",
  BST: "Europe/London",
  WET: "Europe/Lisbon",
  CET: "Europe/Paris",
  CEST: "Europe/Paris",
  MET: "Europe/Paris",
  EET: "Europe/Athens",
  EEST: "Europe/Athens",
  MSK: "Europe/Moscow",
  IST: "Asia/Kolkata",
  JST: "Asia/Tokyo",
  KST: "Asia/Seoul",
  AEST: "Australia/Sydney",
  AEDT: "Australia/Sydney",
  NZST: "Pacific/Auckland",
};

/**
 * The canonical IANA name of a zone this Node knows ("europe/paris" → "Europe/Paris"), or null:
 * not a zone, or an abbreviation (see ABBREVIATIONS).
 */
export function canonicalZone(zone: string): string | null {
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(zone)) return null;
  if (ABBREVIATIONS[zone.toUpperCase()]) return null;
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/** An IANA zone name that this Node's ICU knows, e.g. "Europe/Paris". */
export function isValidTimeZone(zone: string): boolean {
  return canonicalZone(zone) !== null;
}

export function timeZoneProblem(zone: string): string {
  const meant = ABBREVIATIONS[zone.toUpperCase()];
  if (meant) {
    return `"${zone}" is an abbreviation, not a place's time zone, and need not follow your clock through the year; use the zone of a place, such as ${meant}`;
  }
  return `"${zone}" is not an IANA time zone${didYouMean(zone, Intl.supportedValuesOf("timeZone"))}; use a name such as ${EXAMPLE_ZONES}`;
}

export function systemTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** Wall-clock parts of an instant in a zone. */
/** One formatter per zone: making an Intl.DateTimeFormat costs far more than using one. */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-CA", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      weekday: "short",
    });
    // Zones are few (each task names one of a few hundred); the map stays small.
    formatters.set(zone, f);
  }
  return f;
}

export function zonedParts(ms: number, zone: string) {
  const parts = formatterFor(zone).formatToParts(new Date(ms));
  const get = (type: Intl.DateTimeFormatPartTypes) =>
    parts.find((p) => p.type === type)?.value ?? "";
  return {
    date: `${get("year")}-${get("month")}-${get("day")}`,
    time: `${get("hour")}:${get("minute")}`,
    seconds: `${get("hour")}:${get("minute")}:${get("second")}`,
    weekday: get("weekday").toLowerCase().slice(0, 3),
  };
}

/** "2026-12-01 09:00 (Europe/Paris)" — how instants are shown to users outside Discord. */
/** "2026-11-28 09:00 (Europe/Paris)", with `:SS` when asked (runs seconds apart). */
export function formatInZone(ms: number, zone: string, withSeconds = false): string {
  const p = zonedParts(ms, zone);
  return `${p.date} ${withSeconds ? p.seconds : p.time} (${zone})`;
}
