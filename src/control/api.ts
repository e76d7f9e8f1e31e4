import { MissionControlError } from "../shared/errors.ts";
import type { Retention } from "../store/retention.ts";
import type { ItemService } from "../tasks/items.ts";
import type { ServerService } from "../tasks/servers.ts";
import type { TaskService } from "../tasks/task-service.ts";
import type { Tenant } from "../tasks/tenant.ts";

// The services as the CLI sees them: every call async, so the same commands work on a store
// opened in-process or through the running bot's control socket.

/** The socket's name inside DATA_DIR. */
export const CONTROL_SOCKET = "control.sock";

/**
 * What a bot process's own files in DATA_DIR are called: shards on PostgreSQL share the folder
 * (one outputs folder, one briefing archive), each with its own lock and control socket.
 */
export function processFiles(config: { DATABASE_URL?: string; SHARD_ID?: number }): {
  lockName?: string;
  socket: string;
} {
  if (!config.DATABASE_URL || config.SHARD_ID === undefined) return { socket: CONTROL_SOCKET };
  return {
    lockName: `mission-control.shard-${config.SHARD_ID}`,
    socket: `control.shard-${config.SHARD_ID}.sock`,
  };
}

/** The dashboard's one-time login links: only the running bot serves the dashboard. */
export interface DashboardLinks {
  loginLink(): string;
}

/** A CLI that opened the store itself has no dashboard to log in to. */
export const NO_DASHBOARD: DashboardLinks = {
  loginLink() {
    throw new MissionControlError(
      "The dashboard runs inside the bot, which is not running here: start it with npm start (it prints a login link).",
    );
  },
};

/** What the CLI may call, and which service answers. */
export interface Services {
  tasks: TaskService;
  items: ItemService;
  servers: ServerService;
  retention: Retention;
  dashboard: DashboardLinks;
}

const TASK_METHODS = [
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
] as const satisfies readonly (keyof TaskService)[];
const ITEM_METHODS = [
  "listItems",
  "addItem",
  "completeItem",
  "removeItem",
] as const satisfies readonly (keyof ItemService)[];
const SERVER_METHODS = [
  "settings",
  "setSettings",
  "servers",
] as const satisfies readonly (keyof ServerService)[];

const RETENTION_METHODS = ["cleanup"] as const satisfies readonly (keyof Retention)[];
const DASHBOARD_METHODS = ["loginLink"] as const satisfies readonly (keyof DashboardLinks)[];

export const API_METHODS = [
  ...TASK_METHODS,
  ...ITEM_METHODS,
  ...SERVER_METHODS,
  ...RETENTION_METHODS,
  ...DASHBOARD_METHODS,
];
export type ApiMethod = (typeof API_METHODS)[number];

/** The service that answers a method. */
export function target(services: Services, method: ApiMethod): Record<string, unknown> {
  const of = (methods: readonly string[]) => methods.includes(method);
  const service = of(ITEM_METHODS)
    ? services.items
    : of(SERVER_METHODS)
      ? services.servers
      : of(RETENTION_METHODS)
        ? services.retention
        : of(DASHBOARD_METHODS)
          ? services.dashboard
          : services.tasks;
  return service as unknown as Record<string, unknown>;
}

type Fn = (...args: never[]) => unknown;
type Async<T> = T extends Fn ? (...args: Parameters<T>) => Promise<Awaited<ReturnType<T>>> : never;
export type ServiceApi = { [K in (typeof TASK_METHODS)[number]]: Async<TaskService[K]> } & {
  [K in (typeof ITEM_METHODS)[number]]: Async<ItemService[K]>;
} & { [K in (typeof SERVER_METHODS)[number]]: Async<ServerService[K]> } & {
  [K in (typeof RETENTION_METHODS)[number]]: Async<Retention[K]>;
} & { [K in (typeof DASHBOARD_METHODS)[number]]: Async<DashboardLinks[K]> };

/** The methods that are not about one tenant's records. */
const ACROSS_TENANTS: readonly ApiMethod[] = ["handlerNames", "servers", "cleanup", "loginLink"];

type Rest<F> = F extends (tenant: Tenant, ...rest: infer R) => infer T ? (...rest: R) => T : F;
/** The API for one tenant: its methods take no tenant, they all work on this one. */
export type TenantApi = { [K in keyof ServiceApi]: Rest<ServiceApi[K]> };

export function forTenant(api: ServiceApi, tenant: Tenant): TenantApi {
  const bound: Record<string, unknown> = {};
  for (const method of API_METHODS) {
    const fn = api[method] as (...args: unknown[]) => unknown;
    bound[method] = ACROSS_TENANTS.includes(method)
      ? fn
      : (...args: unknown[]) => fn(tenant, ...args);
  }
  return bound as TenantApi;
}

export function localApi(services: Services): ServiceApi {
  const api: Record<string, unknown> = {};
  for (const method of API_METHODS) {
    const self = target(services, method);
    const fn = self[method] as (...args: unknown[]) => unknown;
    api[method] = async (...args: unknown[]) => fn.apply(self, args);
  }
  return api as ServiceApi;
}

/** Dates do not survive JSON; these put them back for the methods that return them. */
export const REVIVERS: Partial<Record<ApiMethod, (value: unknown) => unknown>> = {
  nextRun: (v) => (v === null ? null : new Date(v as string)),
  cleanup: (v) => ({ ...(v as object), cutoff: new Date((v as { cutoff: string }).cutoff) }),
  upcomingRuns: (v) => (v as { at: string }[]).map((r) => ({ ...r, at: new Date(r.at) })),
  overview: (v) =>
    (v as { nextRun: string | null }[]).map((r) => ({
      ...r,
      nextRun: r.nextRun === null ? null : new Date(r.nextRun),
    })),
};
