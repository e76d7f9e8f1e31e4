import { EmbedBuilder, time } from "discord.js";
import type { Execution } from "../store/execution.ts";
import { isFailing, type Task } from "../tasks/model.ts";
import { shownFields } from "../tasks/task-form.ts";
import type { TaskHistoryReport, TaskOverview, UpcomingRun } from "../tasks/task-service.ts";
import { formatSchedule, runsSecondsApart } from "../time/schedule.ts";
import { describeSchedule } from "../time/schedule-words.ts";
import { PAGE_SIZE } from "./buttons.ts";

// Discord views of tasks: embeds with Discord timestamps, which every reader sees in their own
// time zone.

export const COLORS = { ok: 0x2ecc71, warn: 0xf1c40f, error: 0xe74c3c, info: 0x5865f2 };

/**
 * "<t:…:f> (<t:…:R>)": a full date and "in 3 hours", both localised by Discord; with seconds
 * ("<t:…:d> <t:…:T>") for runs seconds apart.
 */
export const when = (date: Date, withSeconds = false) =>
  `${withSeconds ? `${time(date, "d")} ${time(date, "T")}` : time(date, "f")} (${time(date, "R")})`;

export function upcomingText(runs: UpcomingRun[], withSeconds = false): string {
  if (!runs.length) return "No upcoming runs.";
  return runs
    .map((r) => {
      const at = r.skipped
        ? `~~${when(r.at, withSeconds)}~~ (skipped, as asked)`
        : when(r.at, withSeconds);
      return `• ${at}${r.dstNote ? ` ⚠️ ${r.dstNote}` : ""}`;
    })
    .join("\n");
}

function lastResult(task: Task): string {
  const h = task.history;
  if (!h.lastStatus || !h.lastRunAt) return "never run";
  const icon = h.lastStatus === "success" ? "✅" : h.lastStatus === "skipped" ? "⏭️" : "❌";
  return `${icon} ${h.lastStatus} ${time(new Date(h.lastRunAt), "R")}`;
}

export function taskEmbed(task: Task, upcoming: UpcomingRun[], title?: string): EmbedBuilder {
  const h = task.history;
  const embed = new EmbedBuilder()
    .setTitle(title ?? `${task.id} — ${task.name}`)
    .setColor(!task.enabled ? COLORS.warn : isFailing(h) ? COLORS.error : COLORS.info)
    .addFields(
      {
        name: "Schedule",
        value: `${describeSchedule(task.schedule)} (${task.timezone}) — \`${formatSchedule(task.schedule)}\``,
        inline: true,
      },
      { name: "Handler", value: `\`${task.handler}\``, inline: true },
      {
        name: "Enabled",
        value: task.enabled ? (task.skipNext ? "yes (next run skipped)" : "yes") : "no",
        inline: true,
      },
      { name: "Channel", value: task.channelId ? `<#${task.channelId}>` : "default", inline: true },
      {
        name: "Retries",
        value: `${task.retry.maxRetries} × ${task.retry.delaySeconds}s ${task.retry.backoff}, timeout ${task.timeoutSeconds}s`,
        inline: true,
      },
      {
        name: "Runs",
        value: `${h.totalRuns} (${h.successCount} ok, ${h.failureCount} failed) — ${lastResult(task)}`,
        inline: false,
      },
      {
        name: "Next runs",
        value: upcomingText(upcoming, runsSecondsApart(task.schedule)),
        inline: false,
      },
    );
  for (const [label, text] of shownFields(task)) {
    embed.addFields({ name: label[0]?.toUpperCase() + label.slice(1), value: text.slice(0, 1000) });
  }
  if (h.lastError) embed.addFields({ name: "Last error", value: h.lastError.slice(0, 1000) });
  return embed;
}

export function listEmbed(rows: TaskOverview[], page: number): EmbedBuilder {
  const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
  const shown = rows.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
  const lines = shown.map(({ task, nextRun }) => {
    const state = task.enabled ? "" : " *(disabled)*";
    const next = nextRun ? time(nextRun, "R") : "—";
    return `**${task.id}**${state} · \`${formatSchedule(task.schedule)}\` · next ${next} · ${lastResult(task)}`;
  });
  return new EmbedBuilder()
    .setTitle(`Tasks (${rows.length})`)
    .setColor(COLORS.info)
    .setDescription(lines.join("\n") || "No tasks yet. Add one with `/task add`.")
    .setFooter({ text: `Page ${page + 1} of ${pages}` });
}

export function historyEmbed(report: TaskHistoryReport): EmbedBuilder {
  const { task } = report;
  const rate = report.successRate === null ? "—" : `${Math.round(report.successRate * 100)}%`;
  const recent = report.recent
    .slice()
    .reverse()
    .map((e: Execution) => {
      const icon = e.status === "success" ? "✅" : e.status === "skipped" ? "⏭️" : "❌";
      const late =
        e.trigger === "schedule"
          ? Math.max(0, Date.parse(e.ts) - e.durationMs - Date.parse(e.scheduledFor))
          : 0;
      const error = e.error && e.status !== "success" ? ` — ${e.error.slice(0, 80)}` : "";
      return `${icon} ${time(new Date(e.ts), "d")} ${time(new Date(e.ts), "T")} · ${e.trigger} #${e.attempt} · ${e.durationMs} ms${late > 60_000 ? ` · ${Math.round(late / 60_000)} min late` : ""}${error}`;
    });
  const embed = new EmbedBuilder()
    .setTitle(`History of ${task.id}`)
    .setColor(COLORS.info)
    .addFields(
      { name: "Success rate", value: `${rate} of ${task.history.totalRuns} runs`, inline: true },
      {
        name: "p95 duration",
        value: report.p95DurationMs === null ? "—" : `${report.p95DurationMs} ms`,
        inline: true,
      },
      {
        name: "Lateness",
        value: report.latenessMs
          ? `median ${report.latenessMs.p50} ms, worst ${report.latenessMs.max} ms`
          : "—",
        inline: true,
      },
    )
    .setDescription(recent.join("\n").slice(0, 4000) || "No attempts yet.");
  if (task.history.lastError)
    embed.addFields({ name: "Last error", value: task.history.lastError.slice(0, 1000) });
  return embed;
}
