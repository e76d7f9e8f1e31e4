import type { Execution } from "../store/execution.ts";
import type { CleanupReport } from "../store/retention.ts";
import { plural } from "../tasks/activity.ts";
import { type Handler, optionsHelp } from "../tasks/handler.ts";
import { ITEM_KINDS, type Item, type ItemKind } from "../tasks/items.ts";
import { isFailingTask, type Task } from "../tasks/model.ts";
import type { EffectiveSettings, ServerRow } from "../tasks/servers.ts";
import { shownFields } from "../tasks/task-form.ts";
import type { TaskHistoryReport, TaskOverview, UpcomingRun } from "../tasks/task-service.ts";
import { dueWords } from "../time/relative.ts";
import { formatSchedule, runsSecondsApart } from "../time/schedule.ts";
import { describeSchedule } from "../time/schedule-words.ts";
import { formatInZone } from "../time/timezone.ts";

// Plain-text views for the terminal. Times are shown in each task's own zone.

/** Left-aligned columns, two spaces apart; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

const when = (iso: string | null, zone: string) =>
  iso ? formatInZone(Date.parse(iso), zone) : "—";

const nextRunText = ({ task, nextRun }: TaskOverview) =>
  nextRun ? formatInZone(nextRun.getTime(), task.timezone, runsSecondsApart(task.schedule)) : "—";

export function taskList(rows: TaskOverview[]): string {
  if (!rows.length) {
    return 'No tasks yet. Add one: npm run cli -- tasks add <id> --handler test --schedule "daily 09:00"';
  }
  return table(
    ["ID", "HANDLER", "SCHEDULE", "ENABLED", "NEXT RUN"],
    rows.map((row) => {
      const t = row.task;
      return [
        t.id,
        t.handler,
        formatSchedule(t.schedule),
        t.enabled ? "yes" : "no",
        nextRunText(row),
      ];
    }),
  );
}

export function statusView(rows: TaskOverview[]): string {
  if (!rows.length) return "No tasks yet.";
  const tasks = rows.map((r) => r.task);
  const head = `${plural(tasks.length, "task")}, ${tasks.filter((t) => t.enabled).length} enabled, ${tasks.filter(isFailingTask).length} failing`;
  const body = rows.map((row) => {
    const { task: t } = row;
    const h = t.history;
    return [
      t.id,
      t.enabled ? formatSchedule(t.schedule) : `${formatSchedule(t.schedule)} (disabled)`,
      nextRunText(row),
      h.lastStatus ? `${h.lastStatus} ${when(h.lastRunAt, t.timezone)}` : "never run",
      isFailingTask(t) ? (h.lastError ?? "").slice(0, 80) : "",
    ];
  });
  return `${head}\n\n${table(["ID", "SCHEDULE", "NEXT RUN", "LAST RESULT", "LAST ERROR"], body)}`;
}

export function upcomingLines(task: Task, runs: UpcomingRun[]): string[] {
  if (!runs.length) return ["  (no upcoming runs)"];
  return runs.map((r) => {
    const skipped = r.skipped ? "  (skipped, as asked)" : "";
    const at = formatInZone(r.at.getTime(), task.timezone, runsSecondsApart(task.schedule));
    return `  ${at}${skipped}${r.dstNote ? `  ⚠ ${r.dstNote}` : ""}`;
  });
}

export function taskDetails(task: Task, upcoming: UpcomingRun[]): string {
  const h = task.history;
  const lines = [
    `${task.id} — ${task.name}`,
    ...shownFields(task).map(([label, text]) => `  ${`${label}:`.padEnd(11)}${text}`),
    `  handler:   ${task.handler}`,
    `  schedule:  ${describeSchedule(task.schedule)} (${task.timezone}) — \`${formatSchedule(task.schedule)}\``,
    `  enabled:   ${task.enabled ? "yes" : "no"}${task.skipNext ? " (next run will be skipped)" : ""}`,
    `  channel:   ${task.channelId ?? "default (BRIEFING_CHANNEL_ID)"}`,
    `  retries:   ${task.retry.maxRetries} × ${task.retry.delaySeconds}s ${task.retry.backoff}; timeout ${task.timeoutSeconds}s; catch-up ${task.catchUp}`,
  ];
  if (task.maxRuns !== null || task.until !== null) {
    lines.push(
      `  ends:      ${[task.maxRuns !== null && `after ${task.maxRuns} runs`, task.until && `at ${task.until}`].filter(Boolean).join(", ")}`,
    );
  }
  if (Object.keys(task.options).length) lines.push(`  options:   ${JSON.stringify(task.options)}`);
  lines.push(
    h.totalRuns
      ? `  runs:      ${h.totalRuns} (${h.successCount} ok, ${h.failureCount} failed); last ${h.lastStatus} ${when(h.lastRunAt, task.timezone)}`
      : "  runs:      none yet",
  );
  if (h.lastError) lines.push(`  last error: ${h.lastError}`);
  lines.push("  next runs:", ...upcomingLines(task, upcoming).map((l) => `  ${l}`));
  return lines.join("\n");
}

export function historyView(report: TaskHistoryReport): string {
  const { task } = report;
  const pct = report.successRate === null ? "—" : `${Math.round(report.successRate * 100)}%`;
  const lines = [
    `${task.id}: ${plural(task.history.totalRuns, "run")}, ${pct} successful`,
    `  p95 duration: ${report.p95DurationMs === null ? "—" : `${report.p95DurationMs} ms`}`,
    `  lateness:     ${report.latenessMs ? `median ${report.latenessMs.p50} ms, worst ${report.latenessMs.max} ms` : "—"}`,
  ];
  if (task.history.lastError) lines.push(`  last error:   ${task.history.lastError}`);
  lines.push("");
  if (!report.recent.length) return [...lines, "No attempts logged yet."].join("\n");
  lines.push(
    table(
      ["WHEN", "TRIGGER", "ATTEMPT", "STATUS", "MS", "ERROR"],
      report.recent.map((e: Execution) => [
        // To the second: attempts can be seconds apart.
        formatInZone(Date.parse(e.ts), task.timezone, true),
        e.trigger,
        String(e.attempt),
        e.status,
        String(e.durationMs),
        (e.error ?? "").slice(0, 60),
      ]),
    ),
  );
  return lines.join("\n");
}

const ADD_EXAMPLE: Record<ItemKind, string> = {
  goal: 'goals add "Ship v1"',
  reminder: 'reminders add "Renew the domain" --due 2026-12-24',
};

/** Goals or reminders, one a line: number, done mark, due date (seen from `today`), text. */
export function itemList(kind: ItemKind, items: Item[], today: string): string {
  const { plural, open } = ITEM_KINDS[kind];
  if (!items.length) return `No ${open} ${plural}. Add one: npm run cli -- ${ADD_EXAMPLE[kind]}`;
  return items
    .map((i) => {
      const when = "due" in i && i.due && !i.doneAt ? ` (${dueWords(i.due, today)})` : "";
      const due = "due" in i && i.due ? `${i.due}${when}  ` : "";
      return `#${i.id}  ${i.doneAt ? "✓ " : ""}${due}${i.text}`;
    })
    .join("\n");
}

/** `servers`: each tenant with its task counts. */
export function serverList(rows: ServerRow[]): string {
  if (!rows.length) return "No servers yet: nothing is stored here.";
  return table(
    ["SERVER", "TASKS", "ENABLED", "BOT REMOVED"],
    rows.map((r) => [
      r.tenant,
      String(r.tasks),
      String(r.enabled),
      r.removedAt ? `${r.removedAt.slice(0, 10)} (data kept until purged)` : "",
    ]),
  );
}

/** `settings`: what is in force, and what an unset one falls back to. */
export function settingsView(s: EffectiveSettings): string {
  return [
    `briefing channel: ${s.briefingChannelId ?? "none (outputs are only saved)"}`,
    `time zone:        ${s.timezone}`,
    `alert user:       ${s.alertUserId ?? "none (each task's owner only)"}`,
    `manager role:     ${s.managerRoleId ?? "none (Manage Server only)"}`,
  ].join("\n");
}

/** "12.3 MB", "845 KB", "120 B". */
export function bytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${n} B`;
}

export function cleanupView(report: CleanupReport): string {
  const files = report.removed.length;
  const total = report.removed.reduce((n, r) => n + r.bytes, 0);
  const when = report.cutoff.toISOString().slice(0, 16).replace("T", " ");
  const verb = report.dryRun ? "Would remove" : "Removed";
  const lines = [
    files
      ? `${verb} ${plural(files, "file")} (${bytes(total)}) from before ${when} UTC:`
      : `Nothing to remove from before ${when} UTC.`,
  ];
  if (files) {
    const rows = report.kinds.map((k) => [k.kind, plural(k.files, "file"), bytes(k.bytes)]);
    lines.push(table(["kind", "files", "size"], rows));
  }
  lines.push("Briefings are kept: they are the archive.");
  if (report.dryRun && files) lines.push("Nothing was removed (--dry-run).");
  return lines.join("\n");
}

/** `handlers`: each handler, and under it each option with how to set it and an example. */
export function handlersView(handlers: readonly Handler[]): string {
  const lines: string[] = [];
  for (const h of handlers) {
    lines.push(`${h.name.padEnd(16)}${h.description}`);
    for (const o of optionsHelp(h)) {
      const value = o.example === null ? "…" : /\s/.test(o.example) ? `"${o.example}"` : o.example;
      const how = o.command ? `--${o.name} ${value}` : `--option ${o.name}=${value}`;
      const notes = [
        o.description,
        o.required ? "required" : "",
        o.default === null ? "" : `default ${o.default}`,
      ]
        .filter(Boolean)
        .join("; ");
      lines.push(`  ${how.padEnd(36)}${notes}`);
    }
  }
  return lines.join("\n");
}
