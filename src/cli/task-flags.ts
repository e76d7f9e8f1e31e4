import { type Command, Option } from "commander";
import { MissionControlError } from "../shared/errors.ts";
import type { CommandOption } from "../tasks/handler.ts";
import { flagFields, optionsPatch, type TaskPatch } from "../tasks/task-form.ts";

// The flags of `tasks add` and `tasks edit`, from the task form and the handlers' own options.

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

export function addTaskFlags(cmd: Command, forEdit: boolean, handlerOptions: CommandOption[]) {
  for (const { spec: flag, help, required } of flagFields) {
    const option = new Option(`--${flag.name} <${flag.arg}>`, help);
    if (flag.choices) option.choices(flag.choices);
    if (required && !forEdit) option.makeOptionMandatory();
    cmd.addOption(option);
  }
  for (const o of handlerOptions) cmd.option(`--${o.name} <text>`, `options.${o.name}: ${o.help}`);
  return cmd.option(
    "--option <key=value>",
    "a handler option (repeatable; values are JSON when they parse)",
    (v, all: string[] = []) => [...all, v],
  );
}

function optionValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** The flags given, as a patch for the service; `current` is the task's options on edit. */
export function patchFromFlags(
  flags: Record<string, unknown>,
  handlerOptions: CommandOption[],
  current?: Record<string, unknown>,
): TaskPatch {
  const patch: Record<string, unknown> = {};
  for (const { key, spec: flag } of flagFields) {
    const raw = flags[camel(flag.name)];
    if (typeof raw === "string") patch[key] = flag.fromText ? flag.fromText(raw) : raw;
  }
  const given: Record<string, unknown> = {};
  for (const pair of (flags.option as string[] | undefined) ?? []) {
    const eq = pair.indexOf("=");
    if (eq < 1)
      throw new MissionControlError(
        `--option: write key=value, e.g. --option upcomingDays=3 (got "${pair}")`,
      );
    given[pair.slice(0, eq)] = optionValue(pair.slice(eq + 1));
  }
  for (const o of handlerOptions) {
    const value = flags[camel(o.name)];
    if (value !== undefined) given[o.name] = value;
  }
  const options = optionsPatch(given, current);
  if (options) patch.options = options;
  return patch as TaskPatch;
}
