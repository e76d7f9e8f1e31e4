import type { Execution } from "../../store/execution.ts";
import { type Html, html, trusted } from "../html.ts";

// Small SVG charts, built from numbers only (no user text inside, so nothing to escape), that
// need no script and pass the Content-Security-Policy: bars of attempt durations, coloured by
// status, over a strip of how late each scheduled run started. One path per colour keeps a
// tasks page of many charts small and quick to build.

/** Attempts in each task's chart on the tasks page, and on the task's own page. */
export const LIST_CHART = 20;
export const TASK_CHART = 60;

const latenessOf = (e: Execution) =>
  e.trigger === "schedule" && e.attempt === 1
    ? Math.max(0, Date.parse(e.ts) - e.durationMs - Date.parse(e.scheduledFor))
    : -1;

const CLASS = { success: "ok", failure: "bad", timeout: "bad", skipped: "skip" } as const;
const r1 = (n: number) => Math.round(n * 10) / 10;

export function runChart(
  attempts: readonly Execution[],
  { width = 120, height = 28, slots = LIST_CHART, labelled = false } = {},
): Html {
  if (!attempts.length) return html`<span class="muted">no runs yet</span>`;
  const n = attempts.length;
  const late = attempts.map(latenessOf);
  let maxDuration = 1;
  let maxLate = 1;
  for (let i = 0; i < n; i++) {
    maxDuration = Math.max(maxDuration, (attempts[i] as Execution).durationMs);
    maxLate = Math.max(maxLate, late[i] as number);
  }
  // A bar is as wide as one of `slots`, newest on the right: a task's first runs stay thin bars.
  const step = width / Math.max(n, slots);
  const left = width - n * step;
  const bar = r1(Math.max(1, step - 1));
  const top = height * 0.7;
  const strip = height - top - 2;
  const paths = { ok: "", bad: "", skip: "", late: "" };
  for (let i = 0; i < n; i++) {
    const e = attempts[i] as Execution;
    const x = r1(left + i * step);
    const h = r1(Math.max(1, (e.durationMs / maxDuration) * top));
    paths[CLASS[e.status]] += `M${x} ${r1(top - h)}h${bar}v${h}h-${bar}z`;
    const l = late[i] as number;
    if (l >= 0) {
      const lh = r1(Math.max(0.5, (l / maxLate) * strip));
      paths.late += `M${x} ${r1(top + 2)}h${bar}v${lh}h-${bar}z`;
    }
  }
  const longest = Math.max(...attempts.map((e) => e.durationMs));
  const worst = Math.max(0, ...late);
  const title = `last ${n} attempts: longest ${longest} ms; latest start ${worst} ms late`;
  let svg = `<svg class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${title}"><title>${title}</title>`;
  for (const [cls, d] of Object.entries(paths))
    if (d) svg += `<path class="${cls}" d="${d}"></path>`;
  svg += "</svg>";
  const chart = trusted(svg);
  return labelled
    ? html`<figure class="chart-box">${chart}<figcaption>Bars: duration of each attempt (red: failed or timed out), longest ${longest} ms. Strip below: how late each scheduled run started, worst ${worst} ms.</figcaption></figure>`
    : chart;
}
