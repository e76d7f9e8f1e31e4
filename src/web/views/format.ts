import { formatInZone } from "../../time/timezone.ts";
import { type Html, html } from "../html.ts";

// Times as people read them: "in 3 h" beside the wall-clock time, which the page's script
// turns into the browser's own zone.

export function relative(ms: number, now: number): string {
  const d = ms - now;
  const a = Math.abs(d);
  const words =
    a < 45_000
      ? null
      : a < 3_600_000
        ? `${Math.round(a / 60_000)} min`
        : a < 86_400_000
          ? `${Math.round(a / 3_600_000)} h`
          : `${Math.round(a / 86_400_000)} d`;
  if (!words) return d >= 0 ? "in a moment" : "just now";
  return d >= 0 ? `in ${words}` : `${words} ago`;
}

/** The time in the task's zone; the page's script shows it in the viewer's zone too. */
export function when(ms: number, zone: string, withSeconds = false): Html {
  return html`<time datetime="${new Date(ms).toISOString()}" data-local>${formatInZone(ms, zone, withSeconds)}</time>`;
}

export const percent = (rate: number | null) =>
  rate === null ? "—" : `${Math.round(rate * 100)}%`;

export const ms = (n: number | null) =>
  n === null ? "—" : n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(1)} s`;
