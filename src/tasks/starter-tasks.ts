import type { TaskCreate } from "./task-form.ts";
import type { TaskService } from "./task-service.ts";
import type { Tenant } from "./tenant.ts";

// A fresh data dir starts with the prototype's beta scenarios, so `npm start` does something
// useful before anyone has configured anything.
export const STARTER_TASKS: TaskCreate[] = [
  {
    id: "daily-briefing",
    name: "Daily briefing",
    handler: "daily-briefing",
    schedule: "daily 08:00",
  },
  {
    id: "health-check",
    name: "Health check",
    handler: "health-check",
    schedule: "every 1h",
    enabled: false,
  },
  {
    id: "weekly-review",
    name: "Weekly review",
    handler: "weekly-review",
    schedule: "weekly fri 17:00",
  },
];

/**
 * Adds the starter tasks a tenant does not have yet. `enabled: false` for a server that has
 * no briefing channel yet: `/settings set briefing_channel` says how to enable them.
 */
export async function addStarterTasks(
  service: TaskService,
  tenant: Tenant,
  ownerId: string | null,
  { enabled = true } = {},
): Promise<void> {
  const have = new Set(service.listTasks(tenant).map((t) => t.id));
  for (const task of STARTER_TASKS) {
    if (have.has(task.id)) continue;
    await service.addTask(tenant, { ...task, enabled: enabled && task.enabled !== false }, ownerId);
  }
}
