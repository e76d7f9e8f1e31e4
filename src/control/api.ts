import type { TaskService } from "../tasks/task-service.ts";

// The task service as the CLI sees it: every call async, so the same commands work on a store
// opened in-process or through the running bot's control socket.

/** The socket's name inside DATA_DIR. */
export const CONTROL_SOCKET = "control.sock";

export const API_METHODS = [
  "overview",
  "getTask",
  "handlerNames",
  "addTask",
  "editTask",
  "setEnabled",
  "skipNext",
  "deleteTask",
  "runNow",
  "nextRun",
  "upcomingRuns",
  "history",
  "listGoals",
  "addGoal",
  "completeGoal",
  "removeGoal",
  "listReminders",
  "addReminder",
  "completeReminder",
  "removeReminder",
] as const satisfies readonly (keyof TaskService)[];

export type ApiMethod = (typeof API_METHODS)[number];

type Fn = (...args: never[]) => unknown;
export type ServiceApi = {
  [K in ApiMethod]: TaskService[K] extends Fn
    ? (...args: Parameters<TaskService[K]>) => Promise<Awaited<ReturnType<TaskService[K]>>>
    : never;
};

export function localApi(service: TaskService): ServiceApi {
  const api: Record<string, unknown> = {};
  for (const method of API_METHODS) {
    const fn = service[method] as (...args: unknown[]) => unknown;
    api[method] = async (...args: unknown[]) => fn.apply(service, args);
  }
  return api as ServiceApi;
}

/** Dates do not survive JSON; these put them back for the methods that return them. */
export const REVIVERS: Partial<Record<ApiMethod, (value: unknown) => unknown>> = {
  nextRun: (v) => (v === null ? null : new Date(v as string)),
  upcomingRuns: (v) => (v as { at: string }[]).map((r) => ({ ...r, at: new Date(r.at) })),
  overview: (v) =>
    (v as { nextRun: string | null }[]).map((r) => ({
      ...r,
      nextRun: r.nextRun === null ? null : new Date(r.nextRun),
    })),
};
