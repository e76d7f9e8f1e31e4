const EXAMPLE_ZONES = "Europe/Paris, America/New_York, Asia/Tokyo or UTC";

/** An IANA zone name that this Node's ICU knows, e.g. "Europe/Paris". */
export function isValidTimeZone(zone: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(zone)) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export function timeZoneProblem(zone: string): string {
  return `"${zone}" is not an IANA time zone; use a name such as ${EXAMPLE_ZONES}`;
}

export function systemTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** Wall-clock parts of an instant in a zone. */
export function zonedParts(ms: number, zone: string) {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    weekday: "short",
  }).formatToParts(new Date(ms));
  const get = (type: Intl.DateTimeFormatPartTypes) =>
    parts.find((p) => p.type === type)?.value ?? "";
  return {
    date: `${get("year")}-${get("month")}-${get("day")}`,
    time: `${get("hour")}:${get("minute")}`,
    weekday: get("weekday").toLowerCase().slice(0, 3),
  };
}

/** "2026-12-01 09:00 (Europe/Paris)" — how instants are shown to users outside Discord. */
export function formatInZone(ms: number, zone: string): string {
  const p = zonedParts(ms, zone);
  return `${p.date} ${p.time} (${zone})`;
}
