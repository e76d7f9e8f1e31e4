import { z } from "zod";
import { oneLine, plural } from "../src/tasks/activity.ts";
import { defineHandler } from "../src/tasks/handler.ts";
import { isFailingTask } from "../src/tasks/model.ts";
import { formatInZone } from "../src/time/timezone.ts";

function duration(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  return [d && `${d}d`, (d || h) && `${h}h`, `${m}m`].filter(Boolean).join(" ");
}

const mb = (bytes: number) => `${Math.round(bytes / 1048576)} MB`;

export default defineHandler({
  name: "health-check",
  description: "Uptime, gateway ping, memory, task counts and failing tasks",
  options: z.object({
    onlyWhenFailing: z
      .boolean("options.onlyWhenFailing: true or false")
      .default(false)
      .describe("post only when a task is failing"),
  }),
  run({ task, options, clock, data }) {
    const tasks = data.tasks();
    const failing = tasks.filter(isFailingTask);
    if (options.onlyWhenFailing && failing.length === 0) return null;
    const { startedAt, gatewayPingMs } = data.runtime();
    const mem = process.memoryUsage();
    const lines = [
      `## 🩺 Health check — ${formatInZone(clock.now(), task.timezone)}`,
      `- Uptime: ${duration(clock.now() - startedAt)}`,
      `- Discord: ${gatewayPingMs === null || gatewayPingMs < 0 ? "not connected (headless)" : `gateway ping ${Math.round(gatewayPingMs)} ms`}`,
      `- Memory: RSS ${mb(mem.rss)}, heap ${mb(mem.heapUsed)} of ${mb(mem.heapTotal)}`,
      `- Tasks: ${tasks.length} (${tasks.filter((t) => t.enabled).length} enabled, ${failing.length} failing)`,
    ];
    if (failing.length) {
      lines.push("", `**${plural(failing.length, "failing task")}:**`);
      for (const t of failing) {
        const when = t.history.lastRunAt
          ? ` (last run ${formatInZone(Date.parse(t.history.lastRunAt), t.timezone)})`
          : "";
        lines.push(
          `- \`${t.id}\`: ${oneLine(t.history.lastError ?? t.history.lastStatus ?? "failed", 150)}${when}`,
        );
      }
    }
    return lines.join("\n");
  },
});
