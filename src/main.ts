import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createApp } from "./app.ts";
import { loadConfig } from "./config.ts";
import { StartupError } from "./errors.ts";
import { loadHandlers } from "./handler.ts";
import { createLogger } from "./logger.ts";
import { formatSchedule } from "./schedule.ts";
import { formatInZone } from "./timezone.ts";

// `npm start`: the process. Everything it runs is built by createApp.

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

async function main(): Promise<void> {
  if (existsSync(".env")) process.loadEnvFile(".env");
  const config = loadConfig(process.env);
  const log = createLogger(config.LOG_LEVEL);
  const app = await createApp({
    config,
    log,
    handlers: await loadHandlers(join(root, "handlers")),
  });

  // A stray promise in a handler must not take every other task down with it.
  process.on("unhandledRejection", (err) => log.error({ err }, "unhandled rejection (ignored)"));
  // The scheduler's timer may be absent (no tasks) or far off; the process stays up regardless.
  const keepAlive = setInterval(() => {}, 1 << 30);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) process.exit(0); // a second signal: leave at once
    stopping = true;
    clearInterval(keepAlive);
    log.info({ signal }, "shutting down: letting runs in progress finish");
    await app.close(10_000).catch((err) => log.error({ err }, "error while shutting down"));
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));

  await app.scheduler.start();
  if (!config.DISCORD_TOKEN) {
    log.info(
      "headless mode (no DISCORD_TOKEN): tasks run on schedule; outputs go to files and the log",
    );
  }
  for (const task of app.service.listTasks()) {
    const next = app.service.nextRun(task.id);
    log.info(
      { taskId: task.id, schedule: formatSchedule(task.schedule), enabled: task.enabled },
      `task ${task.id}: ${formatSchedule(task.schedule)} — next run ${next ? formatInZone(next.getTime(), task.timezone) : "none"}`,
    );
  }
}

main().catch((err) => {
  if (err instanceof StartupError) {
    console.error(err.message);
  } else {
    console.error(err);
  }
  process.exit(1);
});
