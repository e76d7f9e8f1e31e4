import type { TaskCreate } from "./task-form.ts";

// The Python prototype's task JSON -> task inputs for the service. Its handlers were dotted
// module paths ("handlers.test_handler.run"); only the module's name is kept and mapped to a
// registered handler. Nothing from the file is ever imported or used as a path.

export interface PrototypeConversion {
  tasks: TaskCreate[];
  problems: { id: string; message: string }[];
}

type Raw = Record<string, unknown>;
const isObject = (v: unknown): v is Raw => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown) =>
  typeof v === "string" || typeof v === "number" ? String(v).trim() : undefined;
const num = (v: unknown) =>
  typeof v === "number" ? v : typeof v === "string" && v.trim() ? Number(v) : undefined;
const pick = (o: Raw, ...keys: string[]) =>
  keys.map((k) => o[k]).find((v) => v !== undefined && v !== null);

/** Accepts a list of tasks, `{tasks: [...]}`, or an object keyed by task id. */
function rawTasks(json: unknown): Raw[] {
  const list = isObject(json) && "tasks" in json ? json.tasks : json;
  if (Array.isArray(list)) return list.filter(isObject);
  if (isObject(list)) {
    return Object.entries(list)
      .filter(([, v]) => isObject(v))
      .map(([id, v]) => ({ id, ...(v as Raw) }));
  }
  return [];
}

export function slugId(raw: string): string {
  return raw
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^[-_]+|-+$/g, "")
    .slice(0, 64);
}

/** "handlers.daily_briefing.run" -> "daily-briefing"; "handlers.test_handler.run" -> "test". */
export function handlerName(raw: string): string {
  const parts = raw.split(/[.:/]/).filter(Boolean);
  const module =
    (parts[0] === "handlers" ? parts[1] : parts.length > 1 ? parts.at(-2) : parts[0]) ?? "";
  return module
    .replace(/_handler$/, "")
    .replace(/_/g, "-")
    .toLowerCase();
}

const DAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

function scheduleText(s: unknown): string {
  if (typeof s === "string") return s;
  if (!isObject(s)) throw new Error("has no schedule");
  const type = str(s.type)?.toLowerCase();
  const time = str(pick(s, "time", "at_time"));
  switch (type) {
    case "daily":
      return `daily ${time ?? ""}`.trim();
    case "weekly": {
      const raw = pick(s, "days", "day", "weekdays");
      const days = (Array.isArray(raw) ? raw : [raw]).map((d) => {
        if (typeof d === "number") return DAY_NAMES[d] ?? String(d);
        return String(d ?? "").toLowerCase();
      });
      return `weekly ${days.join(",")} ${time ?? ""}`.trim();
    }
    case "interval":
    case "every": {
      for (const [key, unit] of [
        ["seconds", "s"],
        ["minutes", "m"],
        ["hours", "h"],
        ["interval_seconds", "s"],
        ["interval_minutes", "m"],
        ["interval_hours", "h"],
      ] as const) {
        const n = num(s[key]);
        if (n !== undefined) return `every ${n}${unit}`;
      }
      const n = num(pick(s, "interval", "every", "value"));
      const unit = (str(s.unit) ?? "minutes").toLowerCase();
      return `every ${n ?? ""} ${unit}`;
    }
    case "hourly": {
      const minute = num(pick(s, "minute", "at_minute")) ?? 0;
      return `cron ${minute} * * * *`;
    }
    case "once":
    case "date": {
      const at = str(pick(s, "at", "datetime", "run_at", "date"));
      return `once ${(at ?? "").replace("T", " ").slice(0, 16)}${at && at.length <= 10 && time ? ` ${time}` : ""}`;
    }
    case "cron":
      return `cron ${str(pick(s, "expression", "cron", "pattern")) ?? ""}`;
    default:
      throw new Error(
        `has a schedule of unknown type "${type ?? ""}" (expected daily, weekly, interval, once or cron)`,
      );
  }
}

export function convertPrototype(json: unknown): PrototypeConversion {
  const result: PrototypeConversion = { tasks: [], problems: [] };
  const raws = rawTasks(json);
  if (!raws.length) {
    result.problems.push({
      id: "(file)",
      message:
        'no tasks found: expected a list of tasks, {"tasks": [...]} or an object keyed by task id',
    });
  }
  for (const [index, raw] of raws.entries()) {
    const name = str(raw.name);
    const id = slugId(str(pick(raw, "id", "task_id")) ?? name ?? `task-${index + 1}`);
    try {
      const handler = str(pick(raw, "handler", "function", "func"));
      if (!handler) throw new Error("has no handler");
      const retry = isObject(raw.retry) ? raw.retry : raw;
      const options = isObject(pick(raw, "options", "params", "args", "config"))
        ? { ...(pick(raw, "options", "params", "args", "config") as Raw) }
        : {};
      const message = str(raw.message);
      if (message && options.message === undefined) options.message = message;
      const input: TaskCreate = {
        id,
        name: name || undefined,
        handler: handlerName(handler),
        schedule: scheduleText(raw.schedule),
        options,
      };
      const enabled = pick(raw, "enabled", "active");
      if (typeof enabled === "boolean") input.enabled = enabled;
      const channel = str(pick(raw, "channel_id", "channelId", "channel"));
      if (channel) input.channelId = channel;
      const zone = str(pick(raw, "timezone", "tz"));
      if (zone) input.timezone = zone;
      const retries = num(pick(retry, "max_retries", "maxRetries", "retries"));
      if (retries !== undefined) input.retries = retries;
      const delay = num(pick(retry, "delay_seconds", "delaySeconds", "retry_delay", "delay"));
      if (delay !== undefined) input.retryDelaySeconds = delay;
      const backoff = str(retry.backoff);
      if (backoff === "fixed" || backoff === "exponential") input.backoff = backoff;
      const timeout = num(pick(raw, "timeout_seconds", "timeoutSeconds", "timeout"));
      if (timeout !== undefined) input.timeoutSeconds = timeout;
      result.tasks.push(input);
    } catch (err) {
      result.problems.push({ id, message: (err as Error).message });
    }
  }
  return result;
}
