import { z } from "zod";
import { RunStatusSchema } from "../tasks/model.ts";
import { LOCAL, type Tenant } from "../tasks/tenant.ts";
import { isoTime } from "../time/clock.ts";

// One line of the execution log per attempt: the record of what ran. History counters in db.json
// are a summary of it.

export const TriggerSchema = z.enum(["schedule", "manual", "catch-up", "retry"]);
export type Trigger = z.infer<typeof TriggerSchema>;

export const ExecutionSchema = z.object({
  ts: z.string(),
  guildId: z.string(),
  taskId: z.string(),
  runId: z.string(),
  scheduledFor: z.string(),
  attempt: z.number().int().min(0),
  trigger: TriggerSchema,
  status: RunStatusSchema,
  durationMs: z.number().min(0),
  error: z.string().nullable(),
});
export type Execution = z.infer<typeof ExecutionSchema>;

/**
 * Tenant + task + scheduled instant: the same scheduled run always has the same key, across
 * restarts.
 */
export function runKey(tenant: Tenant, taskId: string, scheduledForMs: number): string {
  return `${tenant}/${taskId}@${isoTime(scheduledForMs)}`;
}

const TRIGGERS = new Set<unknown>(TriggerSchema.options);
const STATUSES = new Set<unknown>(RunStatusSchema.options);

/**
 * ExecutionSchema.safeParse, by hand: the same checks and the same output (known keys only, in
 * the schema's order), without zod's per-object overhead: reading a day of log lines for the
 * briefing checks thousands of them. A test holds the two to the same answers.
 */
export function toExecution(v: unknown, legacyTenant: Tenant = LOCAL): Execution | null {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  const { ts, guildId, taskId, runId, scheduledFor, attempt, trigger, status, durationMs, error } =
    o;
  if (
    typeof ts !== "string" ||
    (guildId !== undefined && typeof guildId !== "string") ||
    typeof taskId !== "string" ||
    typeof runId !== "string" ||
    typeof scheduledFor !== "string" ||
    typeof attempt !== "number" ||
    !Number.isSafeInteger(attempt) ||
    attempt < 0 ||
    !TRIGGERS.has(trigger) ||
    !STATUSES.has(status) ||
    typeof durationMs !== "number" ||
    !Number.isFinite(durationMs) ||
    durationMs < 0 ||
    (error !== null && typeof error !== "string")
  ) {
    return null;
  }
  // A line from before servers were tenants: it belongs to the tenant its records went to.
  const legacy = guildId === undefined;
  return {
    ts,
    guildId: legacy ? legacyTenant : guildId,
    taskId,
    runId: legacy ? `${legacyTenant}/${runId}` : runId,
    scheduledFor,
    attempt,
    trigger: trigger as Trigger,
    status: status as Execution["status"],
    durationMs,
    error: error as string | null,
  };
}
