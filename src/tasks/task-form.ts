import { z } from "zod";
import { parseSchedule, type Schedule, ScheduleSchema } from "../time/schedule.ts";

// The task form: every field a user may set, declared once — how it is stored (limits,
// default), what a user may send and the message when it is wrong, its help text, its CLI
// flag, its slash option, and how it is shown. The stored schema (model.ts), the input
// schemas, the CLI flags (cli/task-flags.ts), the slash options (discord/task-options.ts) and
// the patch each adapter builds all come from this list.

export const TASK_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const RETRY_CAP_SECONDS = 15 * 60;
export const isoInstant = z.iso.datetime({ offset: true });

export interface Flag {
  /** `--name <arg>` */
  name: string;
  arg: string;
  /** The value is one of these words. */
  choices?: readonly string[];
  /** The text typed, as the value the input rule checks. */
  fromText?: (text: string) => unknown;
}

export interface SlashOption {
  name: string;
  type: "string" | "integer" | "channel";
  min?: number;
  max?: number;
  maxLength?: number;
  autocomplete?: boolean;
}

interface Field {
  /** Where it lives in a stored task: a key of the task, or of its `retry`. */
  path: readonly [string] | readonly ["retry", string];
  /** Stored: its limits and, when it has one, its default. */
  stored: z.ZodType;
  /** What a user may send, with messages that name the field, what is allowed and an example. */
  input: z.ZodType;
  help: string;
  /** Needed to add a task. */
  required?: boolean;
  /** The value when a task is added without it, when it depends on who adds it, and how. */
  fallback?: (ctx: AddContext) => unknown;
  flag?: Flag;
  slash?: SlashOption;
  /** A line in `tasks show` and the task's embed: label and text (null: nothing to show). */
  show?: { label: string; text(value: never): string | null };
}

export interface AddContext {
  id: string;
  defaultTimezone: string;
  ownerId: string | null;
}

/** Numbers stay as typed when they are not numbers, so the input rule names the field. */
const numberText = (v: string): unknown => (/^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : v);

function wholeNumber(label: string, min: number, max: number, example: number) {
  const rule = `${label}: a whole number from ${min} to ${max} — e.g. ${example}`;
  return {
    stored: z.number().int().min(min).max(max),
    input: z.number(rule).int(rule).min(min, rule).max(max, rule),
  };
}

function oneOf<const T extends readonly [string, ...string[]]>(
  label: string,
  values: T,
  fallback: T[number],
) {
  return {
    stored: z.enum(values).default(fallback as never),
    input: z.enum(values, `${label}: ${values.join(" or ")}`),
    choices: values,
  };
}

const retries = wholeNumber("retries", 0, 10, 2);
const retryDelay = wholeNumber("retry_delay", 1, RETRY_CAP_SECONDS, 30);
const timeout = wholeNumber("timeoutSeconds", 1, 3600, 120);
const maxRuns = wholeNumber("maxRuns", 1, 1_000_000, 10);
const backoff = oneOf("backoff", ["fixed", "exponential"], "exponential");
const catchUp = oneOf("catchUp", ["once", "skip"], "once");

export const FIELDS = {
  name: {
    path: ["name"],
    stored: z.string().min(1).max(100),
    input: z
      .string()
      .trim()
      .min(1, "name: must not be empty — e.g. Morning briefing")
      .max(100, "name: at most 100 characters"),
    help: "display name",
    fallback: (ctx) => ctx.id,
    flag: { name: "name", arg: "text" },
    slash: { name: "name", type: "string", maxLength: 100 },
  },
  description: {
    path: ["description"],
    stored: z.string().max(300).nullable().default(null),
    input: z
      .string()
      .trim()
      .max(300, "description: at most 300 characters — e.g. Posts the stand-up reminder")
      .transform((s) => s || null)
      .nullable(),
    help: "what the task is for, shown with it",
    flag: { name: "description", arg: "text" },
    slash: { name: "description", type: "string", maxLength: 300 },
    show: { label: "about", text: (v: string | null) => v },
  },
  handler: {
    path: ["handler"],
    stored: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/),
    input: z.string().trim().toLowerCase(),
    help: "what it runs (see the handlers)",
    required: true,
    flag: { name: "handler", arg: "name" },
    slash: { name: "handler", type: "string", autocomplete: true },
  },
  schedule: {
    path: ["schedule"],
    stored: ScheduleSchema,
    input: z
      .union([z.string(), ScheduleSchema])
      .transform((s): Schedule => (typeof s === "string" ? parseSchedule(s) : s)),
    help: 'when: "daily 09:00", "weekly mon,fri 17:00", "every 30m", "once 2026-12-01 09:00", "cron 0 9 * * 1-5"',
    required: true,
    flag: { name: "schedule", arg: "text" },
    slash: { name: "schedule", type: "string", maxLength: 200 },
  },
  timezone: {
    path: ["timezone"],
    stored: z.string().min(1),
    input: z.string().trim(),
    help: "IANA time zone, e.g. Europe/Paris",
    fallback: (ctx) => ctx.defaultTimezone,
    flag: { name: "timezone", arg: "zone" },
    slash: { name: "timezone", type: "string", autocomplete: true, maxLength: 64 },
  },
  channelId: {
    path: ["channelId"],
    stored: z.string().nullable().default(null),
    input: z
      .string()
      .regex(
        /^\d{17,20}$/,
        "channelId: a Discord channel id is 17-20 digits — e.g. 123456789012345678",
      )
      .nullable(),
    help: "where outputs are posted (default: the briefing channel)",
    flag: {
      name: "channel",
      arg: "id",
      fromText: (v) => (v === "" || v === "default" ? null : v),
    },
    slash: { name: "channel", type: "channel" },
  },
  retries: {
    path: ["retry", "maxRetries"],
    stored: retries.stored.default(2),
    input: retries.input,
    help: "retries after a failed attempt (0-10)",
    flag: { name: "retries", arg: "n", fromText: numberText },
    slash: { name: "retries", type: "integer", min: 0, max: 10 },
  },
  retryDelaySeconds: {
    path: ["retry", "delaySeconds"],
    stored: retryDelay.stored.default(30),
    input: retryDelay.input,
    help: `seconds before the first retry (1-${RETRY_CAP_SECONDS})`,
    flag: { name: "retry-delay", arg: "seconds", fromText: numberText },
    slash: { name: "retry_delay", type: "integer", min: 1, max: RETRY_CAP_SECONDS },
  },
  backoff: {
    path: ["retry", "backoff"],
    stored: backoff.stored,
    input: backoff.input,
    help: "retry backoff",
    flag: { name: "backoff", arg: "kind", choices: backoff.choices },
  },
  timeoutSeconds: {
    path: ["timeoutSeconds"],
    stored: timeout.stored.default(120),
    input: timeout.input,
    help: "timeout of one attempt in seconds (1-3600)",
    flag: { name: "timeout", arg: "seconds", fromText: numberText },
  },
  catchUp: {
    path: ["catchUp"],
    stored: catchUp.stored,
    input: catchUp.input,
    help: "a run missed while stopped: once or skip",
    flag: { name: "catch-up", arg: "mode", choices: catchUp.choices },
  },
  maxRuns: {
    path: ["maxRuns"],
    stored: maxRuns.stored.nullable().default(null),
    input: maxRuns.input.nullable(),
    help: "stop after this many runs",
    flag: { name: "max-runs", arg: "n", fromText: numberText },
  },
  until: {
    path: ["until"],
    stored: isoInstant.nullable().default(null),
    input: z.iso
      .datetime({ offset: true, error: "until: an ISO date-time — e.g. 2026-12-31T23:59:00Z" })
      .nullable(),
    help: "stop after this instant, e.g. 2026-12-31T23:59:00Z",
    flag: { name: "until", arg: "iso" },
  },
  enabled: {
    path: ["enabled"],
    stored: z.boolean().default(true),
    input: z.boolean("enabled: true or false"),
    help: "whether it runs",
  },
  ownerId: {
    path: ["ownerId"],
    stored: z.string().nullable().default(null),
    input: z.string().max(32).nullable(),
    help: "who gets its failure alerts",
    fallback: (ctx) => ctx.ownerId,
  },
  options: {
    path: ["options"],
    stored: z.record(z.string(), z.unknown()).default({}),
    input: z.record(z.string(), z.unknown()),
    help: "the handler's own options",
  },
} as const satisfies Record<string, Field>;

type Fields = typeof FIELDS;
export type FieldKey = keyof Fields;
/** The stored shape of the fields that are the task's own keys, and of those in its retry. */
type TaskShape = {
  -readonly [K in FieldKey as Fields[K]["path"] extends readonly [infer P extends string]
    ? P
    : never]: Fields[K]["stored"];
};
type RetryShape = {
  -readonly [K in FieldKey as Fields[K]["path"] extends readonly ["retry", infer P extends string]
    ? P
    : never]: Fields[K]["stored"];
};
export const FIELD_KEYS = Object.keys(FIELDS) as FieldKey[];
const field = (key: FieldKey): Field => FIELDS[key];

/** The stored shape of the fields at a path: the task's own keys, or its retry's. */
export function storedShape(parent: "task"): TaskShape;
export function storedShape(parent: "retry"): RetryShape;
export function storedShape(parent: "task" | "retry"): Record<string, z.ZodType> {
  const shape: Record<string, z.ZodType> = {};
  for (const key of FIELD_KEYS) {
    const { path, stored } = field(key);
    if (path.length === 1 && parent === "task") shape[path[0]] = stored;
    if (path.length === 2 && parent === "retry") shape[path[1]] = stored;
  }
  return shape;
}

const inputShape = Object.fromEntries(FIELD_KEYS.map((k) => [k, field(k).input])) as {
  [K in FieldKey]: (typeof FIELDS)[K]["input"];
};

/** Everything but the id may change; a patch names only what changes. */
export const TaskPatchSchema = z.strictObject(inputShape).partial();
export type TaskPatch = z.input<typeof TaskPatchSchema>;
export type TaskValues = z.output<typeof TaskPatchSchema>;

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

/** The stored fields a patch sets, laid on `base` (a stored task, or {} for a new one). */
export function applyPatch<T extends Record<string, unknown>>(base: T, values: TaskValues): T {
  const next: Record<string, unknown> = { ...base };
  for (const key of FIELD_KEYS) {
    const value = values[key];
    if (value === undefined) continue;
    const { path } = field(key);
    if (path.length === 1) next[path[0]] = value;
    else next.retry = { ...(next.retry as object), [path[1]]: value };
  }
  return next as T;
}

/** A new task's fields: what was given, then the fallbacks; the stored defaults do the rest. */
export function newTaskFields(values: TaskValues, ctx: AddContext): Record<string, unknown> {
  const filled: Record<string, unknown> = { ...values };
  for (const key of FIELD_KEYS) {
    const fallback = field(key).fallback;
    if (filled[key] === undefined && fallback) filled[key] = fallback(ctx);
  }
  return applyPatch({}, filled as TaskValues);
}

/** The value a stored task has for a field. */
export function fieldValue(task: Record<string, unknown>, key: FieldKey): unknown {
  const { path } = field(key);
  return path.length === 1
    ? task[path[0]]
    : (task.retry as Record<string, unknown> | undefined)?.[path[1]];
}

/** The fields that show themselves, as [label, text] for a task (details and embeds). */
export function shownFields(task: Record<string, unknown>): [string, string][] {
  const lines: [string, string][] = [];
  for (const key of FIELD_KEYS) {
    const show = (field(key) as Field).show;
    const text = show?.text(fieldValue(task, key) as never);
    if (show && text) lines.push([show.label, text]);
  }
  return lines;
}

/** The fields that have a CLI flag, or a slash option: each with its key and that spec. */
function fieldsWith<P extends "flag" | "slash">(prop: P) {
  return FIELD_KEYS.flatMap((key) => {
    const f = field(key);
    const spec = f[prop] as NonNullable<Field[P]> | undefined;
    return spec ? [{ key, spec, help: f.help, required: !!f.required }] : [];
  });
}
export const flagFields = fieldsWith("flag");
export const slashFields = fieldsWith("slash");

/** Handler options given by their own flags or slash options, over the task's current ones. */
export function optionsPatch(
  given: Record<string, unknown>,
  current: Record<string, unknown> = {},
): Record<string, unknown> | undefined {
  return Object.keys(given).length ? { ...current, ...given } : undefined;
}
