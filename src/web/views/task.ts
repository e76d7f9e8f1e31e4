import type { Execution } from "../../store/execution.ts";
import type { Task } from "../../tasks/model.ts";
import { fieldValue, flagFields } from "../../tasks/task-form.ts";
import type { TaskHistoryReport, UpcomingRun } from "../../tasks/task-service.ts";
import { formatSchedule, runsSecondsApart } from "../../time/schedule.ts";
import { describeSchedule } from "../../time/schedule-words.ts";
import type { ServerRef } from "../access.ts";
import { type Html, html } from "../html.ts";
import { renderMarkdown } from "../markdown.ts";
import { runChart, TASK_CHART } from "./charts.ts";
import { ms, percent, relative, when } from "./format.ts";
import { csrfField, type PageContext, page, postButton, serverPath } from "./layout.ts";

// One task: what it is, its next runs, its history, and what can be done with it.

const taskPath = (ctx: PageContext, task: Task) =>
  `${serverPath(ctx.server as ServerRef)}/tasks/${task.id}`;

function attemptsTable(task: Task, attempts: readonly Execution[]): Html {
  if (!attempts.length) return html`<p class="muted">No attempts logged yet.</p>`;
  return html`<table class="attempts"><thead><tr><th>When</th><th>Trigger</th><th>Attempt</th><th>Status</th><th>Duration</th><th>Error</th></tr></thead><tbody>${[
    ...attempts,
  ]
    .reverse()
    .map(
      (e) =>
        html`<tr><td>${when(Date.parse(e.ts), task.timezone, true)}</td><td>${e.trigger}</td><td>${e.attempt}</td><td class="status-${e.status}">${e.status}</td><td>${ms(e.durationMs)}</td><td>${e.error ?? ""}</td></tr>`,
    )}</tbody></table>`;
}

export function taskPage(
  ctx: PageContext,
  report: TaskHistoryReport,
  upcoming: UpcomingRun[],
  chart: readonly Execution[],
  now: number,
): string {
  const { task } = report;
  const path = taskPath(ctx, task);
  const h = task.history;
  const seconds = runsSecondsApart(task.schedule);
  const body = html`<h1>${task.name} <span class="muted">${task.id}</span>
${task.enabled ? "" : html`<span class="badge off">disabled</span>`}${task.suspended ? html` <span class="badge off">suspended</span>` : ""}${h.lastStatus === "failure" || h.lastStatus === "timeout" ? html` <span class="badge failing">failing</span>` : ""}</h1>
${task.description ? html`<p>${task.description}</p>` : ""}
<div class="actions">
${postButton(ctx, `${path}/run`, "Run now", "primary")}
${postButton(ctx, `${path}/dry-run`, "Dry run")}
${task.enabled ? postButton(ctx, `${path}/disable`, "Disable") : postButton(ctx, `${path}/enable`, "Enable")}
${task.enabled && !task.skipNext ? postButton(ctx, `${path}/skip`, "Skip next run") : ""}
<a class="button" href="${path}/edit">Edit</a>
<a class="button" href="${path}/delete">Delete…</a>
</div>
<div class="card">
<p><b>Schedule:</b> ${describeSchedule(task.schedule)} <span class="muted">(${task.timezone})</span> — <code>${formatSchedule(task.schedule)}</code></p>
<p><b>Handler:</b> ${task.handler}${Object.keys(task.options).length ? html` <code class="muted">${JSON.stringify(task.options)}</code>` : ""}</p>
<p><b>Runs:</b> ${h.totalRuns} (${h.successCount} ok, ${h.failureCount} failed) · success ${percent(report.successRate)} · p95 duration ${ms(report.p95DurationMs)} · lateness ${report.latenessMs ? `median ${ms(report.latenessMs.p50)}, worst ${ms(report.latenessMs.max)}` : "—"}</p>
${h.lastError && h.lastStatus !== "success" ? html`<p><b>Last error:</b> <span class="status-failure">${h.lastError}</span></p>` : ""}
</div>
<h2>Next runs</h2>
${
  upcoming.length
    ? html`<table class="upcoming"><tbody>${upcoming.map(
        (r) =>
          html`<tr><td>${when(r.at.getTime(), task.timezone, seconds)}</td><td>${relative(r.at.getTime(), now)}</td><td>${r.skipped ? html`<span class="muted">skipped, as asked</span>` : ""}${r.dstNote ? html`<span class="dst">⚠ ${r.dstNote}</span>` : ""}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="muted">No upcoming runs${task.enabled ? "" : " (disabled)"}.</p>`
}
<h2>History</h2>
${runChart(chart, { width: 600, height: 120, slots: TASK_CHART, labelled: true })}
<h2>Recent attempts</h2>
${attemptsTable(task, report.recent)}`;
  return page(ctx, task.name, body, "tasks");
}

export function dryRunPage(
  ctx: PageContext,
  task: Task,
  result: { status: string; output: string | null; error: string | null; durationMs: number },
): string {
  const body = html`<h1>Dry run of ${task.name}</h1>
<p>Nothing was posted, logged or counted. Status <span class="status-${result.status}">${result.status}</span> in ${ms(result.durationMs)}.</p>
${result.error ? html`<p class="flash error">${result.error}</p>` : ""}
${result.output ? html`<div class="card markdown">${renderMarkdown(result.output)}</div><details><summary>As markdown</summary><pre>${result.output}</pre></details>` : html`<p class="muted">The handler returned no output.</p>`}
<p><a href="${taskPath(ctx, task)}">Back to ${task.name}</a></p>`;
  return page(ctx, `Dry run of ${task.name}`, body, "tasks");
}

export function deletePage(ctx: PageContext, task: Task): string {
  const path = taskPath(ctx, task);
  const body = html`<h1>Delete ${task.name}?</h1>
<p class="card">The task <b>${task.id}</b> stops running and is removed. Its past runs stay in the execution log until RETENTION_DAYS removes them.</p>
<form method="post" action="${path}/delete">${csrfField(ctx)}<button class="danger">Delete ${task.id}</button> <a class="button" href="${path}">Cancel</a></form>`;
  return page(ctx, `Delete ${task.name}`, body, "tasks");
}

/** The text a field shows in the edit form: what the CLI flag would take. */
export function fieldText(task: Task, key: (typeof flagFields)[number]["key"]): string {
  if (key === "schedule") return formatSchedule(task.schedule);
  const value = fieldValue(task as unknown as Record<string, unknown>, key);
  return value === null || value === undefined ? "" : String(value);
}

export function editPage(
  ctx: PageContext,
  task: Task,
  values: Record<string, string>,
  options: string,
  problem: { field: string | null; message: string } | null,
): string {
  const path = taskPath(ctx, task);
  const invalid = (key: string, flag: string) =>
    problem?.field === key || problem?.field === flag ? html` aria-invalid="true"` : "";
  const rows = flagFields.map(({ key, spec, help }) => {
    const value = values[spec.name] ?? "";
    const id = `f-${spec.name}`;
    const input = spec.choices
      ? html`<select id="${id}" name="${spec.name}"${invalid(key, spec.name)}>${spec.choices.map(
          (c) => html`<option${c === value ? html` selected` : ""}>${c}</option>`,
        )}</select>`
      : html`<input id="${id}" name="${spec.name}" value="${value}"${invalid(key, spec.name)}>`;
    return html`<label for="${id}">${spec.name}</label>${input}<p class="help">${help}</p>`;
  });
  const body = html`<h1>Edit ${task.name}</h1>
${problem ? html`<p class="flash error" role="alert">${problem.message}</p>` : ""}
<form method="post" action="${path}/edit" class="card">${csrfField(ctx)}
${rows}
<label for="f-options">options</label><textarea id="f-options" name="options" rows="3"${invalid("options", "options")}>${options}</textarea>
<p class="help">the handler's own options, as JSON, e.g. {"upcomingDays": 3}</p>
<p><button class="primary">Save</button> <a class="button" href="${path}">Cancel</a></p>
</form>`;
  return page(ctx, `Edit ${task.name}`, body, "tasks");
}
