import { rm } from "node:fs/promises";
import { join } from "node:path";
import { processFiles } from "./control/api.ts";
import { DeliveryJournal } from "./discord/delivery-journal.ts";
import { type RunHandoff, runOnBot } from "./engine/bot-run.ts";
import { DueRuns } from "./engine/due-runs.ts";
import { Runner } from "./engine/runner.ts";
import { Scheduler } from "./engine/scheduler.ts";
import { createFileSink } from "./outputs/file-sink.ts";
import type { OutputSink } from "./outputs/sink.ts";
import type { Config } from "./shared/config.ts";
import type { Logger } from "./shared/logger.ts";
import type { DeliveryRecords } from "./store/delivery-records.ts";
import type { StoreFs } from "./store/durable-file.ts";
import { ExecutionLog } from "./store/execution-log.ts";
import type { ExecutionRecords } from "./store/execution-records.ts";
import type { LockHolder } from "./store/lock.ts";
import { rebuildHistory } from "./store/rebuild-history.ts";
import { Retention } from "./store/retention.ts";
import { openStore, type Store } from "./store/store.ts";
import { type Handler, HandlerRegistry, type ReadAccess } from "./tasks/handler.ts";
import { ItemService } from "./tasks/items.ts";
import type { Task } from "./tasks/model.ts";
import { ServerService } from "./tasks/servers.ts";
import { TaskService } from "./tasks/task-service.ts";
import { LOCAL, type Tenant } from "./tasks/tenant.ts";
import { type Clock, systemClock } from "./time/clock.ts";
import { createMetrics, type Metrics } from "./web/metrics.ts";

// The composition root: the one place that builds the parts and hands each its dependencies.
// Tests call it with their own clock, handlers and sinks; main.ts calls it with the real ones.

export interface AppOptions {
  config: Pick<
    Config,
    "DATA_DIR" | "DEFAULT_TIMEZONE" | "MIN_INTERVAL_SECONDS" | "CATCH_UP_WINDOW_MINUTES"
  > &
    Partial<
      Pick<
        Config,
        | "DISCORD_GUILD_ID"
        | "BRIEFING_CHANNEL_ID"
        | "ALERT_USER_ID"
        | "MAX_TASKS_PER_SERVER"
        | "SERVER_DATA_RETENTION_DAYS"
        | "RETENTION_DAYS"
        | "MANUAL_RUN_INTERVAL_SECONDS"
        | "DATABASE_URL"
        | "SHARD_ID"
      >
    >;
  log: Logger;
  handlers: Handler[];
  clock?: Clock;
  /**
   * Posting sinks (Discord), or a function that makes them from the parts they need; the file
   * sink always comes first.
   */
  sinks?:
    | OutputSink[]
    | ((parts: { servers: ServerService; deliveries: DeliveryRecords }) => OutputSink[]);
  random?: () => number;
  fs?: StoreFs;
  /** The Discord gateway's ping in ms, once connected. */
  gatewayPing?: () => number | null;
  /** Who opens the data dir: the bot (default), or a CLI command, which others wait for. */
  lockHolder?: LockHolder;
  /** The server a Discord channel is in (null: cannot tell); absent when headless. */
  channelGuild?: (channelId: string) => Promise<string | null>;
}

export interface App {
  /** The tenant of the CLI without --server, and of a data dir from before tenants. */
  defaultTenant: Tenant;
  store: Store;
  service: TaskService;
  items: ItemService;
  servers: ServerService;
  scheduler: Scheduler;
  runner: Runner;
  /** Day files under DATA_DIR, or a table with DATABASE_URL. */
  executionLog: ExecutionRecords;
  /** Prometheus metrics of runs, outputs and alerts (the dashboard's /metrics). */
  metrics: Metrics;
  /** Removes what is older than RETENTION_DAYS (briefings stay). */
  retention: Retention;
  /**
   * Purges the data of servers that removed the bot more than SERVER_DATA_RETENTION_DAYS ago:
   * records, outputs and briefings. The servers purged.
   */
  purgeRemovedServers(): Promise<Tenant[]>;
  /** Stops scheduling, lets runs in progress finish (up to graceMs), and releases the store. */
  close(graceMs?: number): Promise<void>;
}

export async function createApp(opts: AppOptions): Promise<App> {
  const { config, log } = opts;
  const clock = opts.clock ?? systemClock;
  const dataDir = config.DATA_DIR;
  const startedAt = clock.now();
  const defaultTenant = config.DISCORD_GUILD_ID ?? LOCAL;
  const isBot = (opts.lockHolder ?? "bot") === "bot";
  // DATABASE_URL: the records, the execution log and the delivery records in PostgreSQL.
  const pg = config.DATABASE_URL
    ? await (await import("./store/pg/backend.ts")).openPostgres({
        url: config.DATABASE_URL,
        dataDir,
        log,
        lockHolder: opts.lockHolder,
        lockName: isBot ? processFiles(config).lockName : undefined,
        now: () => clock.now(),
      })
    : null;
  const store: Store =
    pg?.store ??
    (await openStore({
      dataDir,
      fs: opts.fs,
      now: () => clock.now(),
      legacyTenant: defaultTenant,
      lockHolder: opts.lockHolder,
    }));
  const logDir = join(dataDir, "logs", "executions");
  const executionLog: ExecutionRecords =
    pg?.executionLog ??
    new ExecutionLog(logDir, defaultTenant, (skipped) =>
      log.warn({ dir: logDir, skipped }, "execution log lines could not be read and were skipped"),
    );
  // On PostgreSQL other processes may be running: their last minute of runs is theirs to count.
  const settled = pg ? clock.now() - 60_000 : Number.POSITIVE_INFINITY;
  const rebuilt = await rebuildHistory(store, executionLog, settled).catch((err) => {
    log.error({ err }, "could not rebuild the history counters from the execution log");
    return 0;
  });
  if (rebuilt) log.info({ tasks: rebuilt }, "history counters rebuilt from the execution log");
  const handlers = new HandlerRegistry(opts.handlers);
  const servers = new ServerService({
    store,
    defaults: {
      guildId: config.DISCORD_GUILD_ID,
      briefingChannelId: config.BRIEFING_CHANNEL_ID,
      alertUserId: config.ALERT_USER_ID,
      timezone: config.DEFAULT_TIMEZONE,
    },
  });
  const deliveries: DeliveryRecords =
    pg?.deliveries ??
    new DeliveryJournal(join(dataDir, "logs", "deliveries"), defaultTenant, () => clock.now());
  const sinks =
    typeof opts.sinks === "function" ? opts.sinks({ servers, deliveries }) : (opts.sinks ?? []);
  // A handler reads only its own tenant's records (one view per tenant, made on first use).
  const views = new Map<Tenant, ReadAccess>();
  const data = (tenant: Tenant): ReadAccess => {
    let view = views.get(tenant);
    if (!view) {
      view = {
        tasks: () => store.tasksOf(tenant),
        goals: () => store.data.goals.filter((g) => g.guildId === tenant),
        reminders: () => store.data.reminders.filter((r) => r.guildId === tenant),
        activity: (sinceMs, untilMs) => executionLog.activity(tenant, sinceMs, untilMs),
        runtime: () => ({ startedAt, gatewayPingMs: opts.gatewayPing?.() ?? null }),
      };
      views.set(tenant, view);
    }
    return view;
  };
  const files = createFileSink(dataDir);
  const metrics = createMetrics(() => store.data.tasks);
  const runner = new Runner({
    store,
    handlers,
    executionLog,
    sinks: [files, ...sinks, metrics.sink],
    onAttempt: metrics.attempt,
    clock,
    log,
    data,
    random: opts.random,
  });
  const dueRuns = new DueRuns({ store, runner, executionLog, clock, log });
  // Bot processes on PostgreSQL share the runs: each adds the runs it finds due to one queue,
  // and whichever takes a run starts it. A CLI command runs nothing on schedule; its "run now"
  // is handed to a bot (the queue opened on first use).
  const queue =
    pg && isBot
      ? await pg.runQueue((run, gates, takenOver) => dueRuns.startQueued(run, gates, takenOver))
      : undefined;
  let handoff: Promise<RunHandoff & { close(): Promise<void> }> | null = null;
  const toBot =
    pg && !isBot
      ? async (task: Task, at: number) => {
          handoff ??= pg.runQueue(async () => {}, { submitOnly: true });
          return runOnBot(await handoff, dueRuns, task, at);
        }
      : undefined;
  const scheduler = new Scheduler({
    store,
    dueRuns,
    queue,
    executionLog,
    clock,
    log,
    catchUpWindowMinutes: config.CATCH_UP_WINDOW_MINUTES,
  });
  // PostgreSQL: scheduling stops while this process cannot hear the database (its connection
  // was cut), and starts again, making up missed runs, once it can.
  let paused = false;
  store.onSchedulingChange?.((allowed) => {
    if (!allowed && scheduler.running) {
      paused = true;
      scheduler.stop();
    } else if (allowed && paused) {
      paused = false;
      void scheduler.start().catch((err) => log.error({ err }, "could not resume scheduling"));
    }
  });
  const service = new TaskService({
    store,
    handlers,
    runner,
    executionLog,
    clock,
    servers,
    channelGuild: opts.channelGuild,
    minIntervalSeconds: config.MIN_INTERVAL_SECONDS,
    maxTasksPerServer: config.MAX_TASKS_PER_SERVER,
    manualRunIntervalSeconds: config.MANUAL_RUN_INTERVAL_SECONDS,
    runOnBot: toBot,
  });
  return {
    defaultTenant,
    store,
    service,
    items: new ItemService({ store, clock }),
    servers,
    scheduler,
    runner,
    executionLog,
    metrics,
    retention: new Retention({
      dataDir,
      executionLog,
      deliveries,
      now: () => clock.now(),
      retentionDays: config.RETENTION_DAYS ?? 90,
    }),
    async purgeRemovedServers() {
      const retention = config.SERVER_DATA_RETENTION_DAYS ?? 30;
      const gone = await servers.purgeRemoved(clock.now(), retention);
      for (const tenant of gone) {
        for (const folder of ["outputs", "briefings"])
          await rm(join(dataDir, folder, tenant), { recursive: true, force: true });
        log.info({ guildId: tenant }, "purged the data of a server that removed the bot");
      }
      return gone;
    },
    async close(graceMs = 10_000) {
      scheduler.stop();
      await runner.stop(graceMs);
      await queue?.close();
      await (await handoff)?.close();
      files.close();
      await executionLog.close();
      await store.close();
    },
  };
}
