import { z } from "zod";
import { ValidationError } from "../shared/errors.ts";
import { parseInput } from "../shared/parse-input.ts";
import type { Db } from "../store/db-schema.ts";
import type { Store } from "../store/store.ts";
import { canonicalZone, timeZoneProblem } from "../time/timezone.ts";
import { type Server, ServerSchema, type Settings, SettingsSchema } from "./model.ts";
import { LOCAL, type Tenant } from "./tenant.ts";

// Each server's settings, and the operator's listing of servers. A setting left unset takes
// the environment's default where there is one: BRIEFING_CHANNEL_ID and ALERT_USER_ID for the
// DISCORD_GUILD_ID server and `local` (they name that server's channel and person), and
// DEFAULT_TIMEZONE for every server.

export interface ServerDefaults {
  /** DISCORD_GUILD_ID, when set. */
  guildId?: string;
  briefingChannelId?: string;
  alertUserId?: string;
  timezone: string;
}

/** A line of the operator's listing of servers. */
export interface ServerRow {
  tenant: Tenant;
  tasks: number;
  enabled: number;
  /** When the bot was removed from it (its data is purged after the retention), or null. */
  removedAt: string | null;
}

/** The settings in force for a server: its own, else the default. */
export type EffectiveSettings = { [K in keyof Settings]: Settings[K] } & { timezone: string };

const snowflake = (field: string, example: string) =>
  z
    .string()
    .trim()
    .regex(/^\d{17,20}$/, `${field}: a Discord id is 17-20 digits — e.g. ${example}`)
    .nullable();

/** What `/settings set` and the CLI may change; null clears a setting (back to the default). */
export const SettingsPatchSchema = z
  .strictObject({
    briefingChannelId: snowflake("briefing_channel", "123456789012345678"),
    timezone: z.string().trim().nullable(),
    alertUserId: snowflake("alert_user", "123456789012345678"),
    managerRoleId: snowflake("manager_role", "123456789012345678"),
  })
  .partial();
export type SettingsPatch = z.input<typeof SettingsPatchSchema>;

/** A server that never set anything. */
const UNSET: Settings = SettingsSchema.parse({});

export class ServerService {
  constructor(private readonly deps: { store: Store; defaults: ServerDefaults }) {}

  /** The settings in force for a tenant. */
  settings(tenant: Tenant): EffectiveSettings {
    const own = this.#server(tenant)?.settings ?? UNSET;
    const { defaults } = this.deps;
    const operator = tenant === LOCAL || tenant === defaults.guildId;
    return {
      briefingChannelId:
        own.briefingChannelId ?? (operator ? (defaults.briefingChannelId ?? null) : null),
      timezone: own.timezone ?? defaults.timezone,
      alertUserId: own.alertUserId ?? (operator ? (defaults.alertUserId ?? null) : null),
      managerRoleId: own.managerRoleId,
    };
  }

  async setSettings(tenant: Tenant, raw: SettingsPatch): Promise<EffectiveSettings> {
    const patch = parseInput(SettingsPatchSchema, raw);
    if (patch.timezone) {
      const zone = canonicalZone(patch.timezone);
      if (!zone) throw new ValidationError("timezone", timeZoneProblem(patch.timezone));
      patch.timezone = zone;
    }
    await this.deps.store.update((db) => {
      const server = this.#server(tenant) ?? ServerSchema.parse({ id: tenant });
      this.#put(db, { ...server, settings: { ...server.settings, ...patch } });
    });
    return this.settings(tenant);
  }

  /**
   * The bot is in this server (it joined, or was there at start). A server seen for the first
   * time is "new" (give it its starter tasks); one that had removed the bot within the
   * retention is "back": its tasks run again, as they were.
   */
  async joined(tenant: Tenant): Promise<"new" | "back" | "known"> {
    const known = this.#server(tenant);
    if (known && !known.removedAt) return "known";
    await this.deps.store.update((db) => {
      this.#put(db, { ...(known ?? ServerSchema.parse({ id: tenant })), removedAt: null });
      for (const t of this.deps.store.tasksOf(tenant))
        if (t.suspended) this.deps.store.putTask({ ...t, suspended: false });
    });
    return known ? "back" : "new";
  }

  /** The bot was removed from the server (not an outage): its tasks stop; its data is kept. */
  async removed(tenant: Tenant, nowMs: number): Promise<void> {
    const known = this.#server(tenant);
    if (known?.removedAt) return;
    await this.deps.store.update((db) => {
      const removedAt = new Date(nowMs).toISOString();
      this.#put(db, { ...(known ?? ServerSchema.parse({ id: tenant })), removedAt });
      for (const t of this.deps.store.tasksOf(tenant))
        this.deps.store.putTask({ ...t, suspended: true });
    });
  }

  /** Purges the servers removed more than `retentionDays` ago; the tenants purged. */
  async purgeRemoved(nowMs: number, retentionDays: number): Promise<Tenant[]> {
    const cutoff = nowMs - retentionDays * 86_400_000;
    const gone = this.deps.store.data.servers
      .filter((s) => s.removedAt !== null && Date.parse(s.removedAt) <= cutoff)
      .map((s) => s.id);
    if (!gone.length) return [];
    const purged = new Set(gone);
    await this.deps.store.update((db) => {
      for (const t of db.tasks.filter((t) => purged.has(t.guildId)))
        this.deps.store.removeTask(t.guildId, t.id);
      db.goals = db.goals.filter((g) => !purged.has(g.guildId));
      db.reminders = db.reminders.filter((r) => !purged.has(r.guildId));
      db.servers = db.servers.filter((s) => !purged.has(s.id));
    });
    return gone;
  }

  /**
   * After an upgrade without DISCORD_GUILD_ID: local's tasks that post to a channel move to
   * that channel's server (when the bot is in it and the id is free there). Once.
   */
  async rehome(serverOf: (channelId: string) => Promise<string | null>): Promise<number> {
    if (!this.#server(LOCAL)?.rehome) return 0;
    const moves: { id: string; to: Tenant }[] = [];
    for (const t of this.deps.store.tasksOf(LOCAL)) {
      const to = t.channelId ? await serverOf(t.channelId) : null;
      if (to && !this.deps.store.task(to, t.id)) moves.push({ id: t.id, to });
    }
    await this.deps.store.update((db) => {
      for (const { id, to } of moves) {
        const task = this.deps.store.removeTask(LOCAL, id);
        if (task) this.deps.store.putTask({ ...task, guildId: to });
        if (!db.servers.some((s) => s.id === to)) this.#put(db, ServerSchema.parse({ id: to }));
      }
      const local = this.#server(LOCAL);
      if (local) this.#put(db, { ...local, rehome: false });
    });
    return moves.length;
  }

  /** Every tenant with data, and how many tasks it has: the operator's view (`servers`). */
  servers(): ServerRow[] {
    const counts = new Map<Tenant, ServerRow>();
    const count = (tenant: Tenant) => {
      const c = counts.get(tenant) ?? { tenant, tasks: 0, enabled: 0, removedAt: null };
      counts.set(tenant, c);
      return c;
    };
    for (const s of this.deps.store.data.servers) count(s.id).removedAt = s.removedAt;
    for (const t of this.deps.store.data.tasks) {
      const c = count(t.guildId);
      c.tasks++;
      if (t.enabled) c.enabled++;
    }
    return [...counts.values()].sort((a, b) => a.tenant.localeCompare(b.tenant));
  }

  #put(db: Db, server: Server): void {
    const i = db.servers.findIndex((s) => s.id === server.id);
    if (i < 0) db.servers.push(server);
    else db.servers[i] = server;
  }

  #server(tenant: Tenant): Server | undefined {
    return this.deps.store.data.servers.find((s) => s.id === tenant);
  }
}
