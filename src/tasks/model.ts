import { z } from "zod";
import { isoTime } from "../time/clock.ts";
import { isoInstant, storedShape, TASK_ID } from "./task-form.ts";
import { TenantSchema } from "./tenant.ts";

// The stored shapes. Types come from these schemas; nothing is written twice.

export { RETRY_CAP_SECONDS, TASK_ID } from "./task-form.ts";

export const RunStatusSchema = z.enum(["success", "failure", "timeout", "skipped"]);
export type RunStatus = z.infer<typeof RunStatusSchema>;

export const HistorySchema = z.object({
  totalRuns: z.number().int().min(0).default(0),
  successCount: z.number().int().min(0).default(0),
  failureCount: z.number().int().min(0).default(0),
  lastRunAt: isoInstant.nullable().default(null),
  lastStatus: RunStatusSchema.nullable().default(null),
  lastError: z.string().nullable().default(null),
  lastDurationMs: z.number().min(0).nullable().default(null),
  lastSuccessAt: isoInstant.nullable().default(null),
  /** The newest run these counters include: a restart adds the log's runs after it. */
  lastRunId: z.string().nullable().default(null),
});
export type History = z.infer<typeof HistorySchema>;

/** The history counters after one more run, which started at `startedMs`. */
export function addRun(
  h: History,
  run: { runId: string; status: RunStatus; error: string | null; durationMs: number },
  startedMs: number,
): History {
  const ok = run.status === "success";
  const at = isoTime(startedMs);
  return {
    totalRuns: h.totalRuns + 1,
    successCount: h.successCount + (ok ? 1 : 0),
    failureCount: h.failureCount + (ok ? 0 : 1),
    lastRunAt: at,
    lastSuccessAt: ok ? at : h.lastSuccessAt,
    lastStatus: run.status,
    lastError: run.error,
    lastDurationMs: run.durationMs,
    lastRunId: run.runId,
  };
}

/** Failing: its last run failed or timed out (and it has not run well since). */
export const isFailing = (h: History): boolean =>
  h.lastStatus === "failure" || h.lastStatus === "timeout";

// The fields a user sets are declared in the task form; the rest are the scheduler's and the
// runner's.
export const TaskSchema = z.object({
  guildId: TenantSchema,
  id: z.string().regex(TASK_ID),
  ...storedShape("task"),
  retry: z.object(storedShape("retry")).prefault({}),
  skipNext: z.boolean().default(false),
  /** Its server removed the bot: it does not run until the bot is invited back. */
  suspended: z.boolean().default(false),
  createdAt: isoInstant,
  updatedAt: isoInstant,
  history: HistorySchema.prefault({}),
});
export type Task = z.infer<typeof TaskSchema>;

/** What the lists, the status line and the health check call failing: enabled, and failing. */
export const isFailingTask = (t: Task): boolean => t.enabled && isFailing(t.history);

export const GoalSchema = z.object({
  guildId: TenantSchema,
  id: z.number().int().min(1),
  text: z.string().min(1).max(500),
  createdAt: isoInstant,
  doneAt: isoInstant.nullable().default(null),
});
export type Goal = z.infer<typeof GoalSchema>;

export const ReminderSchema = z.object({
  guildId: TenantSchema,
  id: z.number().int().min(1),
  text: z.string().min(1).max(500),
  due: z.iso.date().nullable().default(null),
  createdAt: isoInstant,
  doneAt: isoInstant.nullable().default(null),
});
export type Reminder = z.infer<typeof ReminderSchema>;

/** A server's own settings; null: the default (see ServerService.settings). */
export const SettingsSchema = z.object({
  briefingChannelId: z.string().nullable().default(null),
  timezone: z.string().nullable().default(null),
  alertUserId: z.string().nullable().default(null),
  managerRoleId: z.string().nullable().default(null),
});
export type Settings = z.infer<typeof SettingsSchema>;

/** A tenant's own bookkeeping: its goal and reminder numbers, its settings. */
export const ServerSchema = z.object({
  id: TenantSchema,
  nextGoalId: z.number().int().min(1).default(1),
  nextReminderId: z.number().int().min(1).default(1),
  settings: SettingsSchema.prefault({}),
  /**
   * Set on local when an upgrade put a single-server data dir there without DISCORD_GUILD_ID:
   * its tasks move to their channel's server once the bot can tell which.
   */
  rehome: z.boolean().default(false),
  /** When the bot was removed from the server; its data is purged after the retention. */
  removedAt: isoInstant.nullable().default(null),
});
export type Server = z.infer<typeof ServerSchema>;
