import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import { NotFoundError, ValidationError } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { didYouMean } from "../shared/suggest.ts";
import type { Trigger } from "../store/execution.ts";
import type { Clock } from "../time/clock.ts";
import type { TaskActivity } from "./activity.ts";
import type { Goal, Reminder, Task } from "./model.ts";

/** What a handler may read; it never writes or posts by itself. */
export interface ReadAccess {
  tasks(): readonly Task[];
  goals(): readonly Goal[];
  reminders(): readonly Reminder[];
  /** Runs per task of this server from `sinceMs` (up to `untilMs`, or now), busiest first. */
  activity(sinceMs: number, untilMs?: number): Promise<TaskActivity[]>;
  /** When this process started, and the Discord gateway's ping (null when headless). */
  runtime(): { startedAt: number; gatewayPingMs: number | null };
}

export interface HandlerContext<Options = Record<string, unknown>> {
  task: Task;
  options: Options;
  log: Logger;
  clock: Clock;
  signal: AbortSignal;
  /** The instant this run was due (a manual run: when it was asked for). */
  scheduledFor: Date;
  /** The last successful run before this one, so a digest can cover a gap. */
  lastSuccessAt: Date | null;
  trigger: Trigger;
  attempt: number;
  data: ReadAccess;
}

/**
 * Markdown to save and post; nothing (or "") means there is nothing new to post. `saveAs` names
 * the file under DATA_DIR instead of outputs/<task-id>/ (the briefing keeps briefings/<date>.md).
 */
export type HandlerOutput = string | { markdown: string; saveAs?: string } | null | undefined;

/** Where a handler may ask its output to be saved: one level under DATA_DIR, a .md file. */
export const SAVE_AS = /^(briefings|reviews|outputs)\/[A-Za-z0-9][A-Za-z0-9._-]{0,100}\.md$/;

/** What a handler returned, as markdown to save and post (null: nothing) and a checked saveAs. */
export function normalizeOutput(output: HandlerOutput): {
  markdown: string | null;
  saveAs?: string;
} {
  if (typeof output === "string") return { markdown: output.trim() ? output : null };
  if (output && typeof output === "object" && typeof output.markdown === "string") {
    const saveAs =
      typeof output.saveAs === "string" && SAVE_AS.test(output.saveAs) ? output.saveAs : undefined;
    return { markdown: output.markdown.trim() ? output.markdown : null, saveAs };
  }
  return { markdown: null };
}

export interface Handler<S extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  options: S;
  run(ctx: HandlerContext<z.output<S>>): Promise<HandlerOutput> | HandlerOutput;
}

export function defineHandler<S extends z.ZodType>(handler: Handler<S>): Handler<S> {
  return handler;
}

export class HandlerRegistry {
  readonly #byName = new Map<string, Handler>();
  readonly #parsed = new WeakMap<object, { name: string; value: Record<string, unknown> }>();

  constructor(handlers: Handler[]) {
    for (const h of handlers) {
      if (this.#byName.has(h.name)) throw new Error(`two handlers are named "${h.name}"`);
      this.#byName.set(h.name, h);
    }
  }

  names(): string[] {
    return [...this.#byName.keys()].sort();
  }

  list(): Handler[] {
    return this.names().map((n) => this.#byName.get(n) as Handler);
  }

  get(name: string): Handler {
    const handler = this.#byName.get(name);
    if (!handler) throw new NotFoundError("handler", name, `available: ${this.names().join(", ")}`);
    return handler;
  }

  /** A task's options checked against its handler's own schema. */
  parseOptions(name: string, options: unknown): Record<string, unknown> {
    // A task's options object is replaced, never changed in place, so a run can reuse the
    // parse of the run before (a zod parse per run is a real cost at thousands of runs).
    const key = typeof options === "object" && options !== null ? options : null;
    const cached = key ? this.#parsed.get(key) : undefined;
    if (cached?.name === name) return cached.value;
    const parsed = this.get(name).options.safeParse(options ?? {});
    if (parsed.success) {
      const value = parsed.data as Record<string, unknown>;
      if (key) this.#parsed.set(key, { name, value: Object.freeze(value) });
      return value;
    }
    throw optionError(this.get(name), parsed.error.issues[0], options);
  }

  /**
   * The options a task is added or edited with: checked by the handler's schema, and every name
   * one the handler knows (a typo is refused, not dropped).
   */
  checkOptions(name: string, options: unknown): Record<string, unknown> {
    const value = this.parseOptions(name, options);
    const handler = this.get(name);
    if (!(handler.options instanceof z.ZodObject) || typeof options !== "object" || !options)
      return value;
    const known = Object.keys(handler.options.shape);
    const unknown = Object.keys(options).find((k) => !known.includes(k));
    if (unknown === undefined) return value;
    throw new ValidationError(
      "options",
      `"${unknown}" is not an option of the ${name} handler${didYouMean(unknown, known)}; ${known.length ? `its options are ${known.join(", ")}` : "it takes no options"}`,
      known.length ? `--option ${known[0]}=…` : undefined,
    );
  }
}

/**
 * A handler option's problem as one message: the field once (handlers write it into their own
 * messages too), and for a missing one, that it is required and how to give it.
 */
function optionError(
  handler: Handler,
  issue: z.core.$ZodIssue | undefined,
  options: unknown,
): ValidationError {
  const path = issue?.path ?? [];
  const field = ["options", ...path].join(".");
  const message = (issue?.message ?? "invalid").replace(`${field}: `, "");
  const name = String(path[0] ?? "");
  const given = typeof options === "object" && options !== null && name in options;
  if (path.length !== 1 || given) return new ValidationError(field, message);
  const shape = handler.options instanceof z.ZodObject ? handler.options.shape : {};
  const command = (shape as Record<string, z.ZodType>)[name]?.meta()?.command === true;
  const how = command
    ? `--${name} in the CLI, ${name}: in /task`
    : `--option ${name}=… in the CLI, options: in /task`;
  return new ValidationError(
    field,
    `required by the ${handler.name} handler (set it with ${how}): ${message}`,
  );
}

/** One of a handler's options, as `handlers` lists it. */
export interface OptionHelp {
  name: string;
  /** Set with its own flag (`--message`) rather than `--option name=value`. */
  command: boolean;
  description: string;
  required: boolean;
  /** An example value: the option's declared example, else its default. */
  example: string | null;
  default: string | null;
}

export function optionsHelp(handler: Handler): OptionHelp[] {
  if (!(handler.options instanceof z.ZodObject)) return [];
  return Object.entries(handler.options.shape as Record<string, z.ZodType>).map(([name, s]) => {
    const meta = s.meta() ?? {};
    const empty = s.safeParse(undefined);
    const fallback = empty.success && empty.data !== undefined ? String(empty.data) : null;
    return {
      name,
      command: meta.command === true,
      description: String(s.description ?? meta.description ?? ""),
      required: !empty.success,
      example: meta.example === undefined ? fallback : String(meta.example),
      default: fallback,
    };
  });
}

/** The project's handlers folder (beside src/, in the source tree and in dist/ alike). */
export const DEFAULT_HANDLERS_DIR = join(import.meta.dirname, "..", "..", "handlers");

/**
 * Every module in the handlers folder whose default export is a handler. The names come from our
 * own folder listing, never from user input.
 */
export async function loadHandlers(dir: string): Promise<Handler[]> {
  const files = (await readdir(dir)).filter((f) => /^[a-z0-9-]+\.(ts|js)$/.test(f)).sort();
  const handlers: Handler[] = [];
  for (const file of files) {
    const mod = await import(pathToFileURL(join(dir, file)).href);
    const h = mod.default as Handler | undefined;
    if (h && typeof h.name === "string" && typeof h.run === "function" && h.options)
      handlers.push(h);
  }
  return handlers;
}

/** A handler option with its own --flag and slash option (declared with `.meta({ command: true })`). */
export interface CommandOption {
  name: string;
  help: string;
  maxLength: number | undefined;
}

type Described = z.ZodType & { maxLength?: number | null; unwrap?: () => Described };

/**
 * The handlers' options that ask for a command option of their own, like the message handler's
 * `message`: one per name, whichever handlers share it.
 */
export function commandOptions(handlers: readonly Handler[]): CommandOption[] {
  const byName = new Map<string, CommandOption>();
  for (const h of handlers) {
    if (!(h.options instanceof z.ZodObject)) continue;
    for (const [name, schema] of Object.entries(h.options.shape as Record<string, Described>)) {
      const meta = schema.meta();
      if (!meta?.command) continue;
      const max = schema.maxLength ?? schema.unwrap?.().maxLength ?? undefined;
      const seen = byName.get(name);
      byName.set(name, {
        name,
        help: seen?.help ?? meta.description ?? `options.${name}`,
        maxLength: Math.max(seen?.maxLength ?? 0, max ?? 0) || undefined,
      });
    }
  }
  return [...byName.values()];
}
