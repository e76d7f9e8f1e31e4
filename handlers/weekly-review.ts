import { z } from "zod";
import { activityLines, longDate, plural } from "../src/tasks/activity.ts";
import { defineHandler } from "../src/tasks/handler.ts";

const DAY_MS = 86_400_000;

export default defineHandler({
  name: "weekly-review",
  description: "The week's runs per task with success rates, and the goals done",
  options: z.object({
    days: z
      .number("options.days: a whole number of days from 1 to 31 — e.g. 7")
      .int()
      .min(1)
      .max(31)
      .default(7)
      .describe("how many days back the review covers"),
  }),
  async run({ task, options, scheduledFor, data }) {
    const end = scheduledFor.getTime();
    const start = end - options.days * DAY_MS;
    const inWeek = (iso: string | null) =>
      iso !== null && Date.parse(iso) > start && Date.parse(iso) <= end;
    const zone = task.timezone;
    const lines = [
      `# 📅 Weekly review — ${longDate(start + 1, zone)} to ${longDate(end, zone)}`,
      "",
    ];

    const activity = (await data.activity(start)).filter((a) => a.taskId !== task.id);
    lines.push("## Task runs");
    if (activity.length) {
      const runs = activity.reduce((n, a) => n + a.runs, 0);
      const ok = activity.reduce((n, a) => n + a.succeeded, 0);
      const counted = activity.reduce((n, a) => n + a.succeeded + a.failed, 0);
      lines.push(
        `${plural(runs, "run")}, ${counted ? Math.round((ok / counted) * 100) : 100}% successful.`,
      );
      lines.push(
        ...activityLines(activity).map((line, i) => {
          const a = activity[i];
          const rate =
            a && a.succeeded + a.failed
              ? Math.round((a.succeeded / (a.succeeded + a.failed)) * 100)
              : 100;
          return `${line} (${rate}%)`;
        }),
      );
    } else lines.push("_No task runs this week._");
    lines.push("");

    const goals = data.goals();
    const done = goals.filter((g) => inWeek(g.doneAt));
    const open = goals.filter((g) => g.doneAt === null);
    lines.push(`## 🎯 Goals done (${done.length})`);
    if (done.length) for (const g of done) lines.push(`- ✅ ${g.text}`);
    else lines.push("_None this week._");
    if (open.length)
      lines.push("", `Still open: ${open.map((g) => `${g.text} \`#${g.id}\``).join(" · ")}`);

    const reminders = data.reminders().filter((r) => inWeek(r.doneAt));
    if (reminders.length)
      lines.push("", `Reminders done: ${plural(reminders.length, "reminder")}.`);
    return lines.join("\n");
  },
});
