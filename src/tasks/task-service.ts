import type { Runner, RunResult } from "../engine/runner.ts";
import { ConflictError, NotFoundError, QuotaError, ValidationError } from "../shared/errors.ts";
import { parseInput } from "../shared/parse-input.ts";
import { closest, didYouMean } from "../shared/suggest.ts";
import type { Execution } from "../store/execution.ts";
import { MAX_RECENT } from "../store/execution-log.ts";
import type { ExecutionRecords } from "../store/execution-records.ts";
import type { Store } from "../store/store.ts";
import type { Clock } from "../time/clock.ts";
import { checkSchedule } from "../time/schedule.ts";
import { resolveRelative } from "../time/schedule-words.ts";
import { nextRealRun, type PlannedRun, taskRuns } from "../time/timeline.ts";
import { canonicalZone, timeZoneProblem } from "../time/timezone.ts";
import type { HandlerRegistry } from "./handler.ts";
import { type Task, TaskSchema } from "./model.ts";
import type { ServerService } from "./servers.ts";
import {
  applyPatch,
  newTaskFields,
  type TaskCreate,
  TaskCreateSchema,
  type TaskPatch,
  TaskPatchSchema,
} from "./task-form.ts";
import { LOCAL, recordKey, type Tenant } from "./tenant.ts";

// The task use cases (goals and reminders are items.ts's). The CLI and the slash commands are
// thin adapters over the services; neither touches the store or the scheduler.

export interface TaskServiceDeps {
  store: Store;
  handlers: HandlerRegistry;
  runner: Runner;
  /**
   * A CLI command on PostgreSQL hands "run now" to a running bot (which posts where the task
   * posts); null when no bot is connected, and the command runs it itself.
   */
  runOnBot?: (task: Task, scheduledFor: number) => Promise<RunResult | null>;
  executionLog: ExecutionRecords;
  clock: Clock;
  /** Each server's settings: a task's default time zone is its server's. */
  servers: ServerService;
  /** The server a Discord channel is in, when it can be told (null: unknown, or headless). */
  channelGuild?: (channelId: string) => Promise<string | null>;
  minIntervalSeconds: number;
  /** A server's most tasks (MAX_TASKS_PER_SERVER); `local` is the operator's, without one. */
  maxTasksPerServer?: number;
  /** The shortest time between two manual runs of a server's task (MANUAL_RUN_INTERVAL_SECONDS). */
  manualRunIntervalSeconds?: number;
}

export interface UpcomingRun extends Omit<PlannedRun, "at"> {
  at: Date;
}

export interface TaskOverview {
  task: Task;
  nextRun: Date | null;
}

export interface TaskHistoryReport {
  task: Task;
  recent: Execution[];
  successRate: number | null;
  p95DurationMs: number | null;
  /** How late scheduled runs started (first attempts only), median and worst. */
  latenessMs: { p50: number; max: number } | null;
}

/** The attempts the duration and lateness figures of a history are taken over. */
const STATS_WINDOW = 200;

const at = (ms: number | null) => (ms === null ? null : new Date(ms));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

export class TaskService {
  /** When each server task was last run by hand (tenant/id -> ms), for the last 10 s. */
  readonly #manualRuns = new Map<string, number>();

  constructor(private readonly deps: TaskServiceDeps) {}

  // ---- tasks

  listTasks(tenant: Tenant, filter: { enabled?: boolean } = {}): Task[] {
    return this.deps.store
      .tasksOf(tenant)
      .filter((t) => filter.enabled === undefined || t.enabled === filter.enabled);
  }

  /** Tasks with their next run: what `status` and the lists show. */
  overview(tenant: Tenant, filter: { enabled?: boolean } = {}): TaskOverview[] {
    const now = this.deps.clock.now();
    return this.listTasks(tenant, filter).map((task) => ({
      task,
      nextRun: at(nextRealRun(task, now)),
    }));
  }

  getTask(tenant: Tenant, id: string): Task {
    const task = this.deps.store.task(tenant, id);
    if (task) return task;
    const near = closest(
      id,
      this.deps.store.tasksOf(tenant).map((t) => t.id),
    );
    const hint = "`tasks list` (CLI) or `/task list` shows the ids";
    throw new NotFoundError("task", id, near ? `did you mean "${near}"? ${hint}` : hint);
  }

  handlerNames(): string[] {
    return this.deps.handlers.names();
  }

  async addTask(tenant: Tenant, raw: TaskCreate, ownerId: string | null = null): Promise<Task> {
    const defaultTimezone = this.deps.servers.settings(tenant).timezone;
    const { id, ...values } = parseInput(TaskCreateSchema, this.#fromNow(raw, defaultTimezone));
    this.#checkUntil(values.until);
    const now = new Date(this.deps.clock.now()).toISOString();
    const task = this.#validated({
      ...newTaskFields(values, { id, defaultTimezone, ownerId }),
      guildId: tenant,
      id,
      createdAt: now,
      updatedAt: now,
    });
    await this.#checkChannel(task);
    await this.deps.store.update(() => {
      if (this.deps.store.task(tenant, task.id)) {
        throw new ConflictError(
          `a task with id "${task.id}" already exists; pick another id or edit it`,
        );
      }
      const max = this.deps.maxTasksPerServer;
      if (tenant !== LOCAL && max !== undefined && this.deps.store.tasksOf(tenant).length >= max) {
        throw new QuotaError(
          `this server has ${max} tasks, the most MAX_TASKS_PER_SERVER allows; delete one first (/task delete), or ask the bot's operator to raise it`,
        );
      }
      this.deps.store.putTask(task);
    });
    return task;
  }

  async editTask(tenant: Tenant, id: string, raw: TaskPatch): Promise<Task> {
    const current = this.getTask(tenant, id);
    const patch = parseInput(TaskPatchSchema, this.#fromNow(raw, current.timezone));
    this.#checkUntil(patch.until);
    const next = this.#validated({
      ...applyPatch(current, patch),
      updatedAt: new Date(this.deps.clock.now()).toISOString(),
    });
    if (patch.channelId) await this.#checkChannel(next);
    return this.#replace(tenant, id, (t) => ({ ...next, history: t.history }));
  }

  async setEnabled(tenant: Tenant, id: string, enabled: boolean): Promise<Task> {
    this.getTask(tenant, id);
    const updatedAt = new Date(this.deps.clock.now()).toISOString();
    return this.#replace(tenant, id, (t) => ({ ...t, enabled, updatedAt }));
  }

  /** The next scheduled run is skipped once; later runs go on as usual. */
  async skipNext(tenant: Tenant, id: string): Promise<Task> {
    const task = this.getTask(tenant, id);
    if (!task.enabled)
      throw new ConflictError(`task "${id}" is disabled; there is no next run to skip`);
    return this.#replace(tenant, id, (t) => ({ ...t, skipNext: true }));
  }

  async deleteTask(tenant: Tenant, id: string): Promise<Task> {
    const task = this.getTask(tenant, id);
    await this.deps.store.update(() => this.deps.store.removeTask(tenant, id));
    return task;
  }

  /** Runs the task now (trigger `manual`); refused while a run of it is in progress. */
  async runNow(tenant: Tenant, id: string, { dryRun = false } = {}): Promise<RunResult> {
    const task = this.getTask(tenant, id);
    this.#limitManualRuns(tenant, id);
    const scheduledFor = this.deps.clock.now();
    const byBot = dryRun ? null : await this.deps.runOnBot?.(task, scheduledFor);
    if (byBot) return byBot;
    return this.deps.runner.run({ tenant, taskId: id, trigger: "manual", scheduledFor, dryRun });
  }

  /** The next run that will happen (one that skipNext drops is not it). */
  nextRun(tenant: Tenant, id: string): Date | null {
    return at(nextRealRun(this.getTask(tenant, id), this.deps.clock.now()));
  }

  upcomingRuns(tenant: Tenant, id: string, count = 3): UpcomingRun[] {
    return taskRuns(this.getTask(tenant, id), this.deps.clock.now(), count).map((r) => ({
      ...r,
      at: new Date(r.at),
    }));
  }

  /** Each task's last `count` attempts, oldest first, by task id (the dashboard's charts). */
  async recentAttempts(
    tenant: Tenant,
    ids: readonly string[],
    count: number,
  ): Promise<Map<string, Execution[]>> {
    return this.deps.executionLog.recentMany(tenant, ids, Math.min(count, MAX_RECENT));
  }

  async history(tenant: Tenant, id: string, limit = 10): Promise<TaskHistoryReport> {
    const task = this.getTask(tenant, id);
    const shown = Math.max(1, Math.min(limit, MAX_RECENT));
    // One read back along the task's own lines serves the rows and the figures.
    const attempts = await this.deps.executionLog.recent(tenant, id, Math.max(shown, STATS_WINDOW));
    const recent = attempts.slice(-shown);
    const durations = attempts
      .filter((e) => e.status !== "skipped")
      .map((e) => e.durationMs)
      .sort((a, b) => a - b);
    const lateness = attempts
      .filter((e) => e.trigger === "schedule" && e.attempt === 1)
      .map((e) => Math.max(0, Date.parse(e.ts) - e.durationMs - Date.parse(e.scheduledFor)))
      .sort((a, b) => a - b);
    const h = task.history;
    return {
      task,
      recent,
      successRate: h.totalRuns ? h.successCount / h.totalRuns : null,
      p95DurationMs: durations.length ? percentile(durations, 95) : null,
      latenessMs: lateness.length
        ? { p50: percentile(lateness, 50), max: lateness.at(-1) as number }
        : null,
    };
  }

  /** An end in the past would leave a task that never runs: refused, not stored in silence. */
  #checkUntil(until: string | null | undefined): void {
    const now = this.deps.clock.now();
    if (!until || Date.parse(until) > now) return;
    const example = new Date(now + 30 * 86_400_000).toISOString().slice(0, 10);
    throw new ValidationError(
      "until",
      `${until} is in the past, so the task would never run; give a later end, or none`,
      `${example}T00:00:00Z`,
    );
  }

  /**
   * A one-off relative to now ("tomorrow at 10:00", "in 2 hours") as the date and time it
   * means, in the zone the task will have.
   */
  #fromNow<T extends TaskPatch>(raw: T, zone: string): T {
    if (typeof raw?.schedule !== "string") return raw;
    const given = raw.timezone;
    const tz = (typeof given === "string" && canonicalZone(given)) || zone;
    const resolved = resolveRelative(raw.schedule, this.deps.clock.now(), tz);
    return resolved ? { ...raw, schedule: resolved } : raw;
  }

  /** A whole task, checked: fields, handler, zone, schedule rules, the handler's options. */
  #validated(fields: Record<string, unknown>): Task {
    const { handlers, clock, minIntervalSeconds } = this.deps;
    const given = fields as Task;
    const names = handlers.names();
    if (!names.includes(given.handler)) {
      throw new ValidationError(
        "handler",
        `no handler "${given.handler}"${didYouMean(String(given.handler), names)}; available: ${names.join(", ")}`,
        "test",
      );
    }
    const timezone = canonicalZone(given.timezone);
    if (!timezone) throw new ValidationError("timezone", timeZoneProblem(given.timezone));
    checkSchedule(given.schedule, timezone, { now: clock.now(), minIntervalSeconds });
    const options = handlers.checkOptions(given.handler, given.options);
    return TaskSchema.parse({ ...fields, timezone, options });
  }

  /** In a server, a task's manual runs are one per MANUAL_RUN_INTERVAL_SECONDS: no spamming. */
  #limitManualRuns(tenant: Tenant, id: string): void {
    const gapMs = (this.deps.manualRunIntervalSeconds ?? 10) * 1000;
    if (tenant === LOCAL || gapMs <= 0) return;
    const now = this.deps.clock.now();
    const key = recordKey(tenant, id);
    const last = this.#manualRuns.get(key);
    if (last !== undefined && now - last < gapMs) {
      const wait = Math.ceil((gapMs - (now - last)) / 1000);
      throw new QuotaError(
        `task "${id}" was run by hand ${Math.floor((now - last) / 1000)} s ago; a task runs by hand at most once every ${gapMs / 1000} s (MANUAL_RUN_INTERVAL_SECONDS) — try again in ${wait} s`,
      );
    }
    // Only recent runs matter: forget the rest, so the map stays small.
    for (const [k, at] of this.#manualRuns) if (now - at >= gapMs) this.#manualRuns.delete(k);
    this.#manualRuns.set(key, now);
  }

  /** A server's task posts only into that server's channels. */
  async #checkChannel({ guildId, channelId }: Task): Promise<void> {
    if (!channelId || guildId === LOCAL || !this.deps.channelGuild) return;
    const owner = await this.deps.channelGuild(channelId);
    if (owner !== null && owner !== guildId) {
      throw new ValidationError(
        "channelId",
        `<#${channelId}> is in another server; pick a channel of this server`,
      );
    }
  }

  async #replace(tenant: Tenant, id: string, change: (t: Task) => Task): Promise<Task> {
    const updated = await this.deps.store.update(() => {
      const task = this.deps.store.task(tenant, id);
      if (!task) throw new NotFoundError("task", id);
      const next = change(task);
      this.deps.store.putTask(next);
      return next;
    });
    return updated;
  }
}
