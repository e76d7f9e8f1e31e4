import { type Client, type Guild, PermissionFlagsBits } from "discord.js";
import type { Config } from "../shared/config.ts";
import type { ServerService } from "../tasks/servers.ts";
import { LOCAL, type Tenant } from "../tasks/tenant.ts";
import { LOCAL_NAME, type ServerAccess, type ServerRef, tenantsWithData } from "../web/access.ts";

// The dashboard's access through the bot's own view of each member: the same rule as the
// slash commands (Manage Server, the server's manager role, or ADMIN_USER_IDS), asked of
// Discord on every request rather than taken from the login's guild list.

const NO_ACCESS =
  "You need the Manage Server permission (or the server's manager role) in this server to manage its tasks.";

export function discordAccess(
  client: Client,
  config: Pick<Config, "ADMIN_USER_IDS">,
  servers: ServerService,
): ServerAccess {
  // A server on another shard is not in this process's cache (sharded, one process serves the
  // dashboard): the servers the bot is in are in the shared records, and Discord is asked.
  const names = new Map<string, string>();
  const name = (id: Tenant) =>
    id === LOCAL ? LOCAL_NAME : (client.guilds.cache.get(id)?.name ?? names.get(id) ?? id);
  const joined = () => new Set(tenantsWithData(servers));
  const inBot = (id: string, known = joined()) => client.guilds.cache.has(id) || known.has(id);

  async function guildOf(id: string): Promise<Guild | null> {
    const cached = client.guilds.cache.get(id);
    if (cached || !joined().has(id)) return cached ?? null;
    const guild = await client.guilds.fetch({ guild: id, cache: false }).catch(() => null);
    if (guild) names.set(id, guild.name);
    return guild;
  }

  async function mayManage(userId: string, guildId: string): Promise<boolean> {
    const guild = await guildOf(guildId);
    if (!guild) return false;
    if (config.ADMIN_USER_IDS.includes(userId)) return true;
    const member = await guild.members.fetch({ user: userId, force: true }).catch(() => null);
    if (!member) return false;
    if (member.permissions.has(PermissionFlagsBits.ManageGuild)) return true;
    const role = servers.settings(guildId).managerRoleId;
    return role !== null && member.roles.cache.has(role);
  }

  return {
    async servers(viewer) {
      if (viewer.kind === "operator") {
        const ids = new Set([...client.guilds.cache.keys(), ...tenantsWithData(servers)]);
        return [...ids].map((id) => ({ id, name: name(id) })).sort(byName);
      }
      // The login's guild list narrows which servers to ask about; each is then checked live.
      const known = joined();
      const candidates = config.ADMIN_USER_IDS.includes(viewer.userId)
        ? [...new Set([...client.guilds.cache.keys(), ...known])].filter((id) => id !== LOCAL)
        : viewer.guildIds.filter((id) => inBot(id, known));
      const allowed = await Promise.all(candidates.map((id) => mayManage(viewer.userId, id)));
      return candidates
        .filter((_, i) => allowed[i])
        .map((id) => ({ id, name: name(id) }))
        .sort(byName);
    },
    async refusal(viewer, tenant) {
      if (viewer.kind === "operator") return inBot(tenant) ? null : "There is no such server here.";
      if (tenant === LOCAL) return "Only the bot's operator can see this machine's own tasks.";
      return (await mayManage(viewer.userId, tenant)) ? null : NO_ACCESS;
    },
    name,
  };
}

const byName = (a: ServerRef, b: ServerRef) => a.name.localeCompare(b.name);
