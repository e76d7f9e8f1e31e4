import type { Execution } from "../../store/execution.ts";
import type { TaskOverview } from "../../tasks/task-service.ts";
import { formatSchedule } from "../../time/schedule.ts";
import { describeSchedule } from "../../time/schedule-words.ts";
import type { ServerRef } from "../access.ts";
import { type Html, html } from "../html.ts";
import { runChart } from "./charts.ts";
import { percent, relative, when } from "./format.ts";
import { type PageContext, page, serverPath } from "./layout.ts";

// The servers a viewer may manage, and a server's tasks.

export function serversPage(ctx: PageContext, servers: ServerRef[]): string {
  const body = servers.length
    ? html`<h1>Your servers</h1><ul class="card">${servers.map(
        (s) => html`<li><a href="${serverPath(s)}">${s.name}</a></li>`,
      )}</ul>`
    : html`<h1>No servers</h1><p class="card">There is no server here where you may manage Mission Control's tasks. You need the <b>Manage Server</b> permission, or the server's manager role, in a server the bot is in.</p>`;
  return page(ctx, "Servers", body);
}

export interface TaskRow extends TaskOverview {
  recent: Execution[];
}

export interface Paging {
  page: number;
  pages: number;
  total: number;
}

function pager(base: string, { page, pages }: Paging): Html | "" {
  if (pages <= 1) return "";
  const link = (n: number) =>
    n === page
      ? html`<span aria-current="page">${n}</span>`
      : html`<a href="${base}?page=${n}">${n}</a>`;
  return html`<nav class="pager" aria-label="pages">${Array.from({ length: pages }, (_, i) => link(i + 1))}</nav>`;
}

export function tasksPage(ctx: PageContext, rows: TaskRow[], now: number, paging: Paging): string {
  const base = serverPath(ctx.server as ServerRef);
  const body = html`<h1>Tasks <span class="muted">(${paging.total}${paging.pages > 1 ? `; page ${paging.page} of ${paging.pages}` : ""})</span></h1>
${
  rows.length
    ? html`<table class="tasks">
<thead><tr><th>Task</th><th>Schedule</th><th>Next run</th><th>Last result</th><th>Success</th><th>Recent runs</th></tr></thead>
<tbody>${rows.map(({ task, nextRun, recent }) => {
        const h = task.history;
        return html`<tr>
<td><a href="${base}/tasks/${task.id}">${task.name}</a><br><span class="muted">${task.id}</span>${task.enabled ? "" : html` <span class="badge off">disabled</span>`}</td>
<td data-label="Schedule">${describeSchedule(task.schedule)}<br><code class="muted">${formatSchedule(task.schedule)}</code></td>
<td data-label="Next run">${nextRun ? html`${relative(nextRun.getTime(), now)}<br><span class="muted">${when(nextRun.getTime(), task.timezone)}</span>` : html`<span class="muted">none</span>`}</td>
<td data-label="Last result">${h.lastStatus ? html`<span class="status-${h.lastStatus}">${h.lastStatus}</span> ${h.lastRunAt ? relative(Date.parse(h.lastRunAt), now) : ""}${h.lastError && h.lastStatus !== "success" ? html`<br><span class="muted">${h.lastError.slice(0, 120)}</span>` : ""}` : html`<span class="muted">never run</span>`}</td>
<td data-label="Success">${percent(h.totalRuns ? h.successCount / h.totalRuns : null)} <span class="muted">of ${h.totalRuns}</span></td>
<td data-label="Recent runs">${runChart(recent)}</td>
</tr>`;
      })}</tbody></table>${pager(base, paging)}`
    : html`<p class="card">No tasks yet. Add one with <code>/task add</code> in Discord or <code>npm run cli -- tasks add</code>.</p>`
}`;
  return page(ctx, "Tasks", body, "tasks");
}
