import { join } from "node:path";
import { Command, CommanderError } from "commander";
import { pino } from "pino";
import { createApp } from "../app.ts";
import {
  CONTROL_SOCKET,
  forTenant,
  localApi,
  NO_DASHBOARD,
  type ServiceApi,
  type TenantApi,
} from "../control/api.ts";
import { connectControl } from "../control/client.ts";
import { loadConfig } from "../shared/config.ts";
import { MissionControlError, StoreLockedError } from "../shared/errors.ts";
import { createLogger } from "../shared/logger.ts";
import { commandOptions, type Handler, loadHandlers } from "../tasks/handler.ts";
import type { Task } from "../tasks/model.ts";
import type { TaskOverview } from "../tasks/task-service.ts";
import { LOCAL, parseTenant } from "../tasks/tenant.ts";
import { formatSchedule } from "../time/schedule.ts";
import { describeSchedule } from "../time/schedule-words.ts";
import { formatInZone } from "../time/timezone.ts";
import { parseAge } from "./age.ts";
import {
  cleanupView,
  handlersView,
  historyView,
  serverList,
  settingsView,
  statusView,
  taskDetails,
  taskList,
  upcomingLines,
} from "./format.ts";
import { addImportCommand } from "./import-command.ts";
import { addItemCommands } from "./item-commands.ts";
import { addTaskFlags, patchFromFlags } from "./task-flags.ts";

// `mission-control <command>`: the CLI, a thin adapter over the task service. It opens the
// store itself, so it works while the bot is stopped; the running bot holds the lock.

const JSON_HELP = "print JSON (for scripts) instead of a table";

/** Two-space JSON, the way `jq` users expect to read it. */
export const asJson = (value: unknown) => JSON.stringify(value, null, 2);

/** A task as scripts get it: the stored fields, with its schedule also in both texts. */
function taskJson(task: Task) {
  return {
    ...task,
    scheduleText: formatSchedule(task.schedule),
    scheduleWords: describeSchedule(task.schedule),
  };
}

const overviewJson = (r: TaskOverview) => ({ ...taskJson(r.task), nextRun: r.nextRun });

export interface CliIo {
  env: Record<string, string | undefined>;
  out(text: string): void;
  err(text: string): void;
  handlersDir: string;
}

export function buildProgram(
  io: CliIo,
  handlers: Handler[],
): { program: Command; close(): Promise<void> } {
  const handlerOptions = commandOptions(handlers);
  let connection: { api: ServiceApi; close(): Promise<void> | void } | undefined;
  // Opens the store in this process, or, when the bot holds it, talks to the bot instead.
  // The tenant the commands act on: --server, else DISCORD_GUILD_ID's server, else local.
  const service = async (): Promise<TenantApi> => {
    const api = await connect();
    const named = program.opts<{ server?: string }>().server;
    return forTenant(
      api,
      named ? parseTenant(named) : (loadConfig(io.env).DISCORD_GUILD_ID ?? LOCAL),
    );
  };
  const connect = async (): Promise<ServiceApi> => {
    if (connection) return connection.api;
    const config = loadConfig(io.env);
    const level = ["debug", "trace"].includes(config.LOG_LEVEL) ? config.LOG_LEVEL : "error";
    const log = createLogger(level, pino.destination(2));
    try {
      const app = await createApp({ config, log, handlers, lockHolder: "cli" });
      connection = {
        api: localApi({
          tasks: app.service,
          items: app.items,
          servers: app.servers,
          retention: app.retention,
          dashboard: NO_DASHBOARD,
        }),
        close: () => app.close(1000),
      };
    } catch (err) {
      if (!(err instanceof StoreLockedError)) throw err;
      const remote = await connectControl(join(config.DATA_DIR, CONTROL_SOCKET)).catch(() => {
        throw err;
      });
      connection = remote;
    }
    return connection.api;
  };

  const program = new Command("mission-control")
    .description("Manage Mission Control's scheduled tasks, goals and reminders from the terminal")
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError("(run with --help for usage)")
    .option(
      "--server <id>",
      "the Discord server (guild id) to work on, or local (default: DISCORD_GUILD_ID, else local)",
    )
    .exitOverride();

  const tasks = program
    .command("tasks")
    .alias("task")
    .description("list, add, edit, enable, disable, delete tasks");
  tasks
    .command("list")
    .description("every task with its next run")
    .option("--enabled", "only enabled tasks")
    .option("--json", JSON_HELP)
    .action(async (o: { enabled?: boolean; json?: boolean }) => {
      const rows = await (await service()).overview(o.enabled ? { enabled: true } : {});
      io.out(o.json ? asJson(rows.map(overviewJson)) : taskList(rows));
    });
  tasks
    .command("show <id>")
    .description("one task in full, with its next three runs")
    .option("--json", JSON_HELP)
    .action(async (id: string, o: { json?: boolean }) => {
      const s = await service();
      const [task, upcoming] = [await s.getTask(id), await s.upcomingRuns(id, 3)];
      io.out(o.json ? asJson({ ...taskJson(task), upcoming }) : taskDetails(task, upcoming));
    });
  addTaskFlags(tasks.command("add <id>").description("add a task"), false, handlerOptions).action(
    async (id: string, flags: Record<string, unknown>) => {
      const s = await service();
      const task = await s.addTask({ id, ...patchFromFlags(flags, handlerOptions) } as never);
      io.out(
        `Added ${task.id}: ${task.handler}, ${describeSchedule(task.schedule)} (${task.timezone}). Next runs:`,
      );
      io.out(upcomingLines(task, await s.upcomingRuns(task.id, 3)).join("\n"));
    },
  );
  addTaskFlags(
    tasks.command("edit <id>").description("change a task; only the flags given change"),
    true,
    handlerOptions,
  )
    .option("--enable", "enable it")
    .option("--disable", "disable it")
    .action(async (id: string, flags: Record<string, unknown>) => {
      const s = await service();
      const patch = patchFromFlags(flags, handlerOptions, (await s.getTask(id)).options);
      if (flags.enable) patch.enabled = true;
      if (flags.disable) patch.enabled = false;
      if (!Object.keys(patch).length)
        throw new MissionControlError(
          'nothing to change: give at least one flag, e.g. --schedule "daily 10:00"',
        );
      const task = await s.editTask(id, patch);
      io.out(
        `Updated ${task.id}: ${describeSchedule(task.schedule)} (${task.timezone}). Next runs:`,
      );
      io.out(upcomingLines(task, await s.upcomingRuns(task.id, 3)).join("\n"));
    });
  for (const [verb, enabled] of [
    ["enable", true],
    ["disable", false],
  ] as const) {
    tasks
      .command(`${verb} <id>`)
      .description(`${verb} a task`)
      .action(async (id: string) => {
        const s = await service();
        const task = await s.setEnabled(id, enabled);
        const n = await s.nextRun(id);
        io.out(
          `${enabled ? "Enabled" : "Disabled"} ${id}.${n ? ` Next run: ${formatInZone(n.getTime(), task.timezone)}` : ""}`,
        );
      });
  }
  tasks
    .command("delete <id>")
    .description("delete a task (its log lines and outputs stay)")
    .action(async (id: string) => {
      await (await service()).deleteTask(id);
      io.out(`Deleted ${id}.`);
    });
  tasks
    .command("skip <id>")
    .description("skip the next scheduled run only")
    .action(async (id: string) => {
      const s = await service();
      const nextAt = await s.nextRun(id);
      const task = await s.skipNext(id);
      io.out(
        `The next run of ${id}${nextAt ? ` (${formatInZone(nextAt.getTime(), task.timezone)})` : ""} will be skipped.`,
      );
    });

  program
    .command("run <id>")
    .description("run a task now (retries apply); prints its output")
    .option("--dry-run", "show the output only: nothing saved, posted, logged or counted")
    .action(async (id: string, o: { dryRun?: boolean }) => {
      const s = await service();
      const result = await s.runNow(id, { dryRun: o.dryRun });
      if (result.output) io.out(result.output);
      const dry = o.dryRun ? "dry run, " : "";
      const note = `${id}: ${dry}${result.status} after ${result.attempts} attempt${result.attempts === 1 ? "" : "s"} in ${result.durationMs} ms`;
      const nothing = o.dryRun ? "; nothing was saved, posted, logged or counted" : "";
      const where = result.byBot
        ? ", run by a Mission Control bot on the database (its output went where the task posts)"
        : result.output
          ? ""
          : " (no output)";
      if (result.status === "success") io.out(`\n${note}${where}${nothing}`);
      else throw new MissionControlError(`${note}: ${result.error}`);
    });
  program
    .command("history <id>")
    .description("success rate, lateness, p95 duration and recent attempts")
    .option("--limit <n>", "attempts to show", "10")
    .option("--json", JSON_HELP)
    .action(async (id: string, o: { limit: string; json?: boolean }) => {
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw new MissionControlError("--limit: a whole number of at least 1, e.g. --limit 20");
      const report = await (await service()).history(id, limit);
      io.out(o.json ? asJson({ ...report, task: report.task.id }) : historyView(report));
    });
  program
    .command("status")
    .description("every task with its next run and last result")
    .option("--json", JSON_HELP)
    .action(async (o: { json?: boolean }) => {
      const rows = await (await service()).overview();
      io.out(o.json ? asJson(rows.map(overviewJson)) : statusView(rows));
    });
  const settings = program
    .command("settings")
    .description("a server's settings: briefing channel, time zone, alert user, manager role");
  settings
    .command("show", { isDefault: true })
    .description("the settings in force")
    .action(async () => io.out(settingsView(await (await service()).settings())));
  settings
    .command("set")
    .description('change settings; "default" sets one back to its default')
    .option("--briefing-channel <id>", "where outputs go when a task names no channel")
    .option("--timezone <zone>", "IANA time zone for new tasks")
    .option("--alert-user <id>", "who else gets failure DMs")
    .option("--manager-role <id>", "members with this role may manage tasks")
    .action(async (o: Record<string, string | undefined>) => {
      const value = (v: string | undefined) => (v === "default" ? null : v);
      const patch = {
        briefingChannelId: value(o.briefingChannel),
        timezone: value(o.timezone),
        alertUserId: value(o.alertUser),
        managerRoleId: value(o.managerRole),
      };
      const given = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
      if (!Object.keys(given).length)
        throw new MissionControlError(
          "nothing to change: give at least one flag, e.g. --timezone Europe/Paris",
        );
      io.out(settingsView(await (await service()).setSettings(given)));
    });
  program
    .command("servers")
    .description("every server (tenant) with data here, and its tasks")
    .action(async () => {
      io.out(serverList(await (await service()).servers()));
    });
  program
    .command("cleanup")
    .description("remove log days, delivery records and outputs older than RETENTION_DAYS")
    .option("--dry-run", "only show what would be removed")
    .option("--older-than <age>", "another age than RETENTION_DAYS: 30d, 2w or 12h")
    .action(async (o: { dryRun?: boolean; olderThan?: string }) => {
      const olderThanDays = o.olderThan === undefined ? undefined : parseAge(o.olderThan);
      const report = await (await service()).cleanup({ olderThanDays, dryRun: o.dryRun });
      io.out(cleanupView(report));
    });
  program
    .command("dashboard-link")
    .description("a new one-time login link for the running bot's web dashboard")
    .action(async () => {
      io.out(await (await service()).loginLink());
    });
  program
    .command("handlers")
    .description("the handlers a task can use")
    .action(async () => {
      io.out(handlersView(handlers));
    });

  for (const kind of ["goal", "reminder"] as const) addItemCommands(program, kind, service, io);

  addImportCommand(program, service, io);

  return { program, close: async () => connection?.close() };
}

/** Runs one command line; returns the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const { program, close } = buildProgram(io, await loadHandlers(io.handlersDir));
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof MissionControlError) {
      io.err(`error: ${err.message}`);
      return 1;
    }
    throw err;
  } finally {
    await close();
  }
}
