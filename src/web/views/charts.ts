import type { Execution } from "../../store/execution.ts";
import { type Html, html } from "../html.ts";

// Small SVG charts built from numbers only (no user text inside), so they need no script and
// pass the Content-Security-Policy: bars of attempt durations, coloured by status, over a
// strip of how late each scheduled run started.

const latenessOf = (e: Execution) =>
  e.trigger === "schedule" && e.attempt === 1
    ? Math.max(0, Date.parse(e.ts) - e.durationMs - Date.parse(e.scheduledFor))
    : null;

export function runChart(
  attempts: readonly Execution[],
  { width = 120, height = 28, labelled = false } = {},
): Html {
  if (!attempts.length) return html`<span class="muted">no runs yet</span>`;
  const durations = attempts.map((e) => e.durationMs);
  const late = attempts.map(latenessOf);
  const maxDuration = Math.max(1, ...durations);
  const maxLate = Math.max(1, ...late.map((l) => l ?? 0));
  const step = width / attempts.length;
  const barWidth = Math.max(1, step - 1);
  const durationHeight = height * 0.7;
  const lateHeight = height - durationHeight - 2;
  const bars = attempts.map((e, i) => {
    const h = Math.max(1, (e.durationMs / maxDuration) * durationHeight);
    const cls = e.status === "success" ? "ok" : e.status === "skipped" ? "skip" : "bad";
    return html`<rect class="${cls}" x="${(i * step).toFixed(1)}" y="${(durationHeight - h).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${h.toFixed(1)}"></rect>`;
  });
  const lates = late.map((l, i) => {
    if (l === null) return "";
    const h = Math.max(0.5, (l / maxLate) * lateHeight);
    return html`<rect class="late" x="${(i * step).toFixed(1)}" y="${(durationHeight + 2).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${h.toFixed(1)}"></rect>`;
  });
  const worstLate = Math.max(0, ...late.map((l) => l ?? 0));
  const title = `last ${attempts.length} attempts: longest ${maxDuration} ms; latest start ${worstLate} ms late`;
  const svg = html`<svg class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${title}"><title>${title}</title>${bars}${lates}</svg>`;
  return labelled
    ? html`<figure class="chart-box">${svg}<figcaption>Bars: duration of each attempt (red: failed or timed out), longest ${maxDuration} ms. Strip below: how late each scheduled run started, worst ${worstLate} ms.</figcaption></figure>`
    : svg;
}
