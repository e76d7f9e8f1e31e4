import type { ServerService } from "../tasks/servers.ts";
import { LOCAL, type Tenant } from "../tasks/tenant.ts";
import type { Viewer } from "./sessions.ts";

// Which servers a viewer may manage. Asked on every request: a role taken away in Discord
// closes the dashboard at once, whatever the viewer's login said.

export interface ServerRef {
  id: Tenant;
  name: string;
}

export interface ServerAccess {
  /** The servers this viewer may manage now, by name. */
  servers(viewer: Viewer): Promise<ServerRef[]>;
  /** Null when the viewer may manage the server now; otherwise why not, for a 403 page. */
  refusal(viewer: Viewer, tenant: Tenant): Promise<string | null>;
  /** The server's name as people know it. */
  name(tenant: Tenant): string;
}

export const LOCAL_NAME = "This machine (headless and CLI)";

/** The tenants that have data and were not removed: what the operator sees without Discord. */
export function tenantsWithData(servers: ServerService): Tenant[] {
  return servers
    .servers()
    .filter((row) => row.removedAt === null && (row.tenant !== LOCAL || row.tasks > 0))
    .map((row) => row.tenant);
}

/** Headless: only the operator logs in (the local link), and sees every tenant. */
export function operatorAccess(servers: ServerService): ServerAccess {
  // Headless, `local` is where tasks live, even before there are any.
  const tenants = () => [...new Set([LOCAL, ...tenantsWithData(servers)])];
  return {
    async servers(viewer) {
      if (viewer.kind !== "operator") return [];
      return tenants().map((id) => ({ id, name: this.name(id) }));
    },
    async refusal(viewer, tenant) {
      if (viewer.kind !== "operator") return "Only the bot's operator can use this dashboard.";
      return tenants().includes(tenant) ? null : "There is no such server here.";
    },
    name: (tenant) => (tenant === LOCAL ? LOCAL_NAME : tenant),
  };
}
