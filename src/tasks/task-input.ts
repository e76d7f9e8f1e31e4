import { z } from "zod";
import { ValidationError } from "../shared/errors.ts";
import { parseSchedule, type Schedule, ScheduleSchema } from "../time/schedule.ts";
import { TASK_ID } from "./model.ts";

// What a user may send to add or edit a task, from the CLI or a slash command. Each rule carries
// the message a user sees: the field, what is allowed, an example.

const scheduleInput = z
  .union([z.string(), ScheduleSchema])
  .transform((s): Schedule => (typeof s === "string" ? parseSchedule(s) : s));

const wholeNumber = (field: string, min: number, max: number, example: number) => {
  const rule = `${field}: a whole number from ${min} to ${max} — e.g. ${example}`;
  return z.number(rule).int(rule).min(min, rule).max(max, rule);
};

const TaskFieldsSchema = z.strictObject({
  name: z
    .string()
    .trim()
    .min(1, "name: must not be empty — e.g. Morning briefing")
    .max(100, "name: at most 100 characters"),
  handler: z.string().trim().toLowerCase(),
  schedule: scheduleInput,
  timezone: z.string().trim(),
  channelId: z
    .string()
    .regex(
      /^\d{17,20}$/,
      "channelId: a Discord channel id is 17-20 digits — e.g. 123456789012345678",
    )
    .nullable(),
  options: z.record(z.string(), z.unknown()),
  retries: wholeNumber("retries", 0, 10, 2),
  retryDelaySeconds: wholeNumber("retry_delay", 1, 900, 30),
  backoff: z.enum(["fixed", "exponential"], "backoff: fixed or exponential"),
  timeoutSeconds: wholeNumber("timeoutSeconds", 1, 3600, 120),
  catchUp: z.enum(["once", "skip"], "catchUp: once or skip"),
  maxRuns: wholeNumber("maxRuns", 1, 1_000_000, 10).nullable(),
  until: z.iso
    .datetime({ offset: true, error: "until: an ISO date-time — e.g. 2026-12-31T23:59:00Z" })
    .nullable(),
  enabled: z.boolean("enabled: true or false"),
  ownerId: z.string().max(32).nullable(),
});

/** Everything but the id may change; a patch names only what changes. */
export const TaskPatchSchema = TaskFieldsSchema.partial();
export type TaskPatch = z.input<typeof TaskPatchSchema>;

export const TaskCreateSchema = TaskPatchSchema.required({ handler: true, schedule: true }).extend({
  id: z
    .string("id: required — e.g. morning-news")
    .trim()
    .regex(
      TASK_ID,
      "id: use 1-64 lowercase letters, digits, - or _, starting with a letter or digit — e.g. morning-news",
    ),
});
export type TaskCreate = z.input<typeof TaskCreateSchema>;

/** zod's first issue as a ValidationError naming the field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  // parseSchedule, inside a transform, throws its own ValidationError straight through.
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join(".") || "input";
  if (issue?.code === "unrecognized_keys") {
    throw new ValidationError(field, `unknown field(s): ${issue.keys.join(", ")}`);
  }
  const message = issue?.message ?? "invalid";
  // Messages written above already start with the field; zod's own do not.
  const m = /^([\w.]+): (.*)$/.exec(message);
  if (m) throw new ValidationError(m[1] as string, m[2] as string);
  throw new ValidationError(field, message);
}
