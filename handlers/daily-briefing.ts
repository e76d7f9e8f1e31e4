import { z } from "zod";
import { activityLines, longDate, plural } from "../src/tasks/activity.ts";
import { defineHandler } from "../src/tasks/handler.ts";
import { addDays, dueWords } from "../src/time/relative.ts";
import { taskRuns } from "../src/time/timeline.ts";
import { zonedParts } from "../src/time/timezone.ts";

const DAY_MS = 86_400_000;
/** Today's remaining runs listed at most; a busy server gets a count for the rest. */
const MAX_TODAY = 15;
/** Runs looked at per task for today's list. */
const PER_TASK = 24;
/** After a long gap the briefing covers this much: a week of runs is news, half a year is not. */
const MAX_WINDOW_DAYS = 7;

export default defineHandler({
  name: "daily-briefing",
  description: "Goals, reminders due or overdue, and the last day's task activity",
  options: z.object({
    upcomingDays: z
      .number("options.upcomingDays: a whole number of days from 0 to 30 — e.g. 7")
      .int()
      .min(0)
      .max(30)
      .default(7)
      .describe("reminders due this many days ahead are listed"),
  }),
  async run({ task, options, clock, scheduledFor, lastSuccessAt, data }) {
    const zone = task.timezone;
    const at = scheduledFor.getTime();
    const today = zonedParts(at, zone).date;
    // The last day, or back to the last briefing if one was missed: a gap is covered, up to a
    // week, and what is older is said to be left out. A cut window starts at a midnight (UTC),
    // where the log's days begin: its whole days are read from their summaries.
    const wanted = Math.min(at - DAY_MS, lastSuccessAt?.getTime() ?? Number.POSITIVE_INFINITY);
    const weekAgo = at - MAX_WINDOW_DAYS * DAY_MS;
    const since = Math.max(wanted, Math.ceil(weekAgo / DAY_MS) * DAY_MS);
    const lines = [`# ☀️ Daily briefing — ${longDate(at, zone)}`, ""];

    const goals = data.goals().filter((g) => g.doneAt === null);
    lines.push("## 🎯 Goals");
    if (goals.length) for (const g of goals) lines.push(`- ${g.text} \`#${g.id}\``);
    else lines.push("_No active goals. Add one with `/goal add`._");
    lines.push("");

    const open = data.reminders().filter((r) => r.doneAt === null);
    const horizon = addDays(today, options.upcomingDays);
    const overdue = open.filter((r) => r.due !== null && r.due < today);
    const dueToday = open.filter((r) => r.due === today);
    const upcoming = open.filter((r) => r.due !== null && r.due > today && r.due <= horizon);
    const later = open.filter((r) => r.due !== null && r.due > horizon);
    const undated = open.filter((r) => r.due === null);
    const byDue = (a: { due: string | null }, b: { due: string | null }) =>
      (a.due ?? "").localeCompare(b.due ?? "");
    lines.push("## ⏰ Reminders");
    for (const r of overdue.sort(byDue)) {
      const words = dueWords(r.due as string, today);
      lines.push(
        `- **${words[0]?.toUpperCase()}${words.slice(1)}** (due ${r.due}): ${r.text} \`#${r.id}\``,
      );
    }
    for (const r of dueToday) lines.push(`- **Today**: ${r.text} \`#${r.id}\``);
    for (const r of upcoming.sort(byDue))
      lines.push(`- ${r.due} (${dueWords(r.due as string, today)}): ${r.text} \`#${r.id}\``);
    for (const r of undated) lines.push(`- ${r.text} \`#${r.id}\``);
    // Hidden by the horizon, not lost: say how many, and when the first is due.
    if (later.length) {
      const first = later.sort(byDue)[0]?.due as string;
      lines.push(`- _…and ${plural(later.length, "more reminder")} later (the next due ${first})_`);
    }
    if (!open.length) lines.push("_Nothing due. Add one with `/reminder add`._");
    lines.push("");

    // The rest of today: what is still to run (a task's first PER_TASK runs of it).
    let capped = false;
    const todays = data
      .tasks()
      .filter((t) => t.id !== task.id)
      .flatMap((t) => {
        const runs = taskRuns(t, at, PER_TASK).filter((r) => zonedParts(r.at, zone).date === today);
        if (runs.length === PER_TASK) capped = true;
        return runs.map((r) => ({ t, at: r.at, skipped: r.skipped }));
      })
      .sort((a, b) => a.at - b.at || a.t.id.localeCompare(b.t.id));
    if (todays.length) {
      lines.push("## 🗓️ Still to run today");
      const shown = todays.slice(0, MAX_TODAY);
      for (const r of shown)
        lines.push(
          `- ${zonedParts(r.at, zone).time} \`${r.t.id}\`${r.skipped ? " (skipped, as asked)" : ""}`,
        );
      if (todays.length > shown.length)
        lines.push(`- _…and ${todays.length - shown.length}${capped ? "+" : ""} more_`);
      lines.push("");
    }

    const known = new Set(data.tasks().map((t) => t.id));
    // Failing tasks first: they are what needs a look.
    const activity = (await data.activity(since))
      .filter((a) => a.taskId !== task.id)
      .sort((a, b) => Number(b.failed > 0) - Number(a.failed > 0));
    const hours = Math.round((clock.now() - since) / 3_600_000);
    lines.push(
      hours > 72
        ? `## 📊 Activity (last ${Math.round(hours / 24)} days)`
        : hours > 24
          ? `## 📊 Activity (last ${hours} h)`
          : "## 📊 Last 24 hours",
    );
    if (since > wanted) {
      const p = zonedParts(since, zone);
      lines.push(`_(runs before ${longDate(since, zone)} ${p.time} not shown)_`);
    }
    if (activity.length) {
      const runs = activity.reduce((n, a) => n + a.runs, 0);
      const failed = activity.reduce((n, a) => n + a.failed, 0);
      lines.push(
        `${plural(runs, "run")} across ${plural(activity.length, "task")}${failed ? ` — **${failed} failed**` : ", all good"}.`,
      );
      lines.push(
        ...activityLines(activity).map((line, i) =>
          known.has(activity[i]?.taskId as string) ? line : `${line} _(task deleted since)_`,
        ),
      );
    } else {
      lines.push("_No task runs._");
    }
    return { markdown: lines.join("\n"), saveAs: `briefings/${today}.md` };
  },
});
