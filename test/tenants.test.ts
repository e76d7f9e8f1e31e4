import { cp, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { App } from "../src/app.ts";
import { CorruptStoreError } from "../src/shared/errors.ts";
import { closedAfterEach, makeWorld, runUntil, scriptedHandler, tempDir } from "./support/world.ts";

const keep = closedAfterEach();
const FIXTURE = join(__dirname, "fixtures", "v1-data");
const GUILD_A = "111111111111111111";
const GUILD_B = "222222222222222222";

/** A copy of the committed v1 data folder (written by the code before tenants). */
async function v1Copy() {
  const dir = await tempDir();
  await cp(FIXTURE, dir.path, { recursive: true });
  return dir;
}

describe("a data folder from before servers were tenants (schemaVersion 1)", () => {
  it("migrates at start, backup first: every record goes to local, nothing lost", async () => {
    const dir = await v1Copy();
    const w = keep(await makeWorld({ start: "2026-11-28T06:00:00Z", dataDir: dir.path }));
    const { service, items, store } = w.app;
    expect(store.data.schemaVersion).toBe(2);
    expect(service.listTasks("local").map((t) => t.id)).toEqual([
      "standup",
      "backup-check",
      "brief",
    ]);
    expect(service.getTask("local", "backup-check").history).toMatchObject({
      totalRuns: 1,
      lastError: "disk full",
    });
    expect(service.getTask("local", "standup").skipNext).toBe(true);
    // The goal only the journal held is there, and numbering goes on where it stopped.
    expect(items.listItems("local", "goal", { includeDone: true }).map((g) => g.text)).toEqual([
      "Ship v1",
      "Write the docs",
      "Only in the journal",
    ]);
    expect((await items.addItem("local", "goal", "Next")).id).toBe(4);
    expect((await items.addItem("local", "reminder", "Next")).id).toBe(3);
    // The old log lines are the local tenant's: history reads them.
    const report = await service.history("local", "backup-check");
    expect(report.recent.map((e) => [e.guildId, e.status])).toEqual([["local", "failure"]]);
    expect(report.recent[0]?.runId).toMatch(/^local\/backup-check@/);
    // The backup is the v1 state as it was read, journal included.
    const backups = await readdir(join(dir.path, "backups"));
    expect(backups).toHaveLength(1);
    expect(backups[0]).toMatch(/-v1\.json$/);
    const backup = JSON.parse(
      await readFile(join(dir.path, "backups", backups[0] as string), "utf8"),
    );
    expect(backup.schemaVersion).toBe(1);
    expect(backup.goals.map((g: { text: string }) => g.text)).toContain("Only in the journal");
    expect(w.app.servers.servers()).toEqual([
      { tenant: "local", tasks: 3, enabled: 3, removedAt: null },
    ]);
    await w.close();
    await dir.remove();
  });

  it("gives the records to DISCORD_GUILD_ID's server when it is set", async () => {
    const dir = await v1Copy();
    const w = keep(
      await makeWorld({
        start: "2026-11-28T06:00:00Z",
        dataDir: dir.path,
        config: { DISCORD_GUILD_ID: GUILD_A },
      }),
    );
    const { service, items } = w.app;
    expect(service.listTasks(GUILD_A)).toHaveLength(3);
    expect(service.listTasks("local")).toEqual([]);
    expect(items.listItems(GUILD_A, "reminder").map((r) => r.text)).toEqual([
      "Renew the domain",
      "Call the bank",
    ]);
    expect((await service.history(GUILD_A, "backup-check")).recent).toHaveLength(1);
    await w.close();
    await dir.remove();
  });

  it("without DISCORD_GUILD_ID, a task that posts to a channel moves to that channel's server once the bot can tell", async () => {
    const dir = await v1Copy();
    const w = keep(await makeWorld({ start: "2026-11-28T06:00:00Z", dataDir: dir.path }));
    const { servers, service } = w.app;
    const asked: string[] = [];
    const serverOf = async (channel: string) => {
      asked.push(channel);
      return channel === "777777777777777777" ? GUILD_A : null;
    };
    expect(await servers.rehome(serverOf)).toBe(1);
    expect(service.listTasks(GUILD_A).map((t) => [t.id, t.guildId])).toEqual([
      ["standup", GUILD_A],
    ]);
    expect(service.listTasks("local").map((t) => t.id)).toEqual(["backup-check", "brief"]);
    expect(asked).toEqual(["777777777777777777"]);
    // Once: a later start asks nothing, and a local task with a channel stays local.
    await service.addTask("local", {
      id: "mine",
      handler: "test",
      schedule: "daily 09:00",
      channelId: "777777777777777777",
    });
    expect(await servers.rehome(serverOf)).toBe(0);
    expect(asked).toHaveLength(1);
    await w.close();
    await dir.remove();
  });

  it("a v1 folder with a damaged journal line is still refused, and left untouched", async () => {
    const dir = await v1Copy();
    const journal = join(dir.path, "db.journal");
    const damaged = `{"seq":12,"changes":[["put","goals",{"id":3,"te\n${await readFile(journal, "utf8")}`;
    await writeFile(journal, damaged);
    const before = await readFile(join(dir.path, "db.json"), "utf8");
    const err = await makeWorld({ start: "2026-11-28T06:00:00Z", dataDir: dir.path }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CorruptStoreError);
    expect(await readFile(join(dir.path, "db.json"), "utf8")).toBe(before);
    expect(await readFile(journal, "utf8")).toBe(damaged);
    await dir.remove();
  });
});

describe("tenants are apart", () => {
  /** Everything a tenant has, as a caller of the services sees it. */
  const view = (app: App, tenant: string) => ({
    tasks: app.service.listTasks(tenant),
    goals: app.items.listItems(tenant, "goal", { includeDone: true }),
    reminders: app.items.listItems(tenant, "reminder", { includeDone: true }),
  });

  const tenant = fc.constantFrom("local", GUILD_A, GUILD_B);
  const id = fc.constantFrom("backup", "news", "daily-briefing");
  const op = fc.oneof(
    fc.record({ kind: fc.constant("add" as const), tenant, id }),
    fc.record({ kind: fc.constant("edit" as const), tenant, id }),
    fc.record({ kind: fc.constant("disable" as const), tenant, id }),
    fc.record({ kind: fc.constant("skip" as const), tenant, id }),
    fc.record({ kind: fc.constant("delete" as const), tenant, id }),
    fc.record({ kind: fc.constant("run" as const), tenant, id }),
    fc.record({ kind: fc.constant("goal" as const), tenant }),
    fc.record({ kind: fc.constant("done" as const), tenant, n: fc.integer({ min: 1, max: 3 }) }),
    fc.record({ kind: fc.constant("remove" as const), tenant, n: fc.integer({ min: 1, max: 3 }) }),
  );

  it("random operations on random tenants: none reads or changes another tenant's records", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
        const w = await makeWorld({ start: "2026-11-28T06:00:00Z" });
        try {
          const { service, items } = w.app;
          for (const o of ops) {
            const others = ["local", GUILD_A, GUILD_B].filter((t) => t !== o.tenant);
            const before = others.map((t) => structuredClone(view(w.app, t)));
            let result: unknown;
            try {
              if (o.kind === "add")
                result = await service.addTask(o.tenant, {
                  id: o.id,
                  handler: "test",
                  schedule: "daily 09:00",
                });
              else if (o.kind === "edit")
                result = await service.editTask(o.tenant, o.id, { name: `edited in ${o.tenant}` });
              else if (o.kind === "disable")
                result = await service.setEnabled(o.tenant, o.id, false);
              else if (o.kind === "skip") result = await service.skipNext(o.tenant, o.id);
              else if (o.kind === "delete") result = await service.deleteTask(o.tenant, o.id);
              else if (o.kind === "run") result = await service.runNow(o.tenant, o.id);
              else if (o.kind === "goal") result = await items.addItem(o.tenant, "goal", o.tenant);
              else if (o.kind === "done") result = await items.completeItem(o.tenant, "goal", o.n);
              else result = await items.removeItem(o.tenant, "goal", o.n);
            } catch {
              // Refusals (unknown id, duplicate) are fine; what matters is what they touched.
            }
            expect(others.map((t) => view(w.app, t))).toEqual(before);
            // What came back is this tenant's, never another's.
            const found = JSON.stringify(result ?? null);
            for (const t of others) expect(found).not.toContain(`"guildId":"${t}"`);
            for (const t of service.listTasks(o.tenant)) expect(t.guildId).toBe(o.tenant);
            if (o.kind === "goal")
              expect(result).toMatchObject({ guildId: o.tenant, text: o.tenant });
          }
          // Every goal a tenant has was added by it (its text names it).
          for (const t of ["local", GUILD_A, GUILD_B])
            for (const g of items.listItems(t, "goal", { includeDone: true }))
              expect(g.text).toBe(t);
        } finally {
          await w.close();
        }
      }),
      { numRuns: 30 },
    );
  }, 120_000);

  it("the same task id in two servers: two tasks, each run, logged and shown for its own", async () => {
    const w = keep(await makeWorld({ start: "2026-11-28T06:00:00Z" }));
    const { service } = w.app;
    await service.addTask(GUILD_A, { id: "backup", handler: "test", schedule: "daily 09:00" });
    await service.addTask(GUILD_B, {
      id: "backup",
      handler: "test",
      schedule: "daily 10:00",
      options: { failWith: "B is down" },
      retries: 0,
    });
    expect((await service.runNow(GUILD_A, "backup")).status).toBe("success");
    expect((await service.runNow(GUILD_B, "backup")).status).toBe("failure");
    expect(service.getTask(GUILD_A, "backup").history.lastStatus).toBe("success");
    expect(service.getTask(GUILD_B, "backup").history.lastStatus).toBe("failure");
    const a = await service.history(GUILD_A, "backup");
    expect(a.recent.map((e) => [e.guildId, e.status])).toEqual([[GUILD_A, "success"]]);
    expect(service.overview(GUILD_A).map((r) => r.task.schedule)).toEqual([
      { type: "daily", time: "09:00" },
    ]);
    expect(() => service.getTask("local", "backup")).toThrow(/no task with id "backup"/);
    expect(await readdir(join(w.dataDir, "outputs"))).toEqual([GUILD_A]);
  });
});

describe("each server's settings, quotas and lifecycle", () => {
  it("settings: the environment is the default for DISCORD_GUILD_ID's server and local only", async () => {
    const w = keep(
      await makeWorld({
        start: "2026-11-28T06:00:00Z",
        config: {
          DISCORD_GUILD_ID: GUILD_A,
          BRIEFING_CHANNEL_ID: "333333333333333333",
          ALERT_USER_ID: "444444444444444444",
          DEFAULT_TIMEZONE: "Europe/Paris",
        },
      }),
    );
    const { servers, service } = w.app;
    for (const t of [GUILD_A, "local"]) {
      expect(servers.settings(t)).toEqual({
        briefingChannelId: "333333333333333333",
        timezone: "Europe/Paris",
        alertUserId: "444444444444444444",
        managerRoleId: null,
      });
    }
    expect(servers.settings(GUILD_B)).toEqual({
      briefingChannelId: null,
      timezone: "Europe/Paris",
      alertUserId: null,
      managerRoleId: null,
    });
    await servers.setSettings(GUILD_B, {
      timezone: "Asia/Tokyo",
      managerRoleId: "555555555555555555",
    });
    expect(servers.settings(GUILD_B)).toMatchObject({
      timezone: "Asia/Tokyo",
      managerRoleId: "555555555555555555",
    });
    expect(servers.settings(GUILD_A).timezone).toBe("Europe/Paris");
    // A new task takes its server's zone.
    const t = await service.addTask(GUILD_B, { id: "x", handler: "test", schedule: "daily 09:00" });
    expect(t.timezone).toBe("Asia/Tokyo");
    // Bad input names the setting and changes nothing; null goes back to the default.
    await expect(servers.setSettings(GUILD_B, { timezone: "Mars/Base" })).rejects.toThrow(
      /timezone: "Mars\/Base" is not an IANA time zone/,
    );
    await expect(servers.setSettings(GUILD_B, { alertUserId: "bob" })).rejects.toThrow(
      /alert_user: a Discord id is 17-20 digits/,
    );
    await servers.setSettings(GUILD_B, { timezone: null });
    expect(servers.settings(GUILD_B).timezone).toBe("Europe/Paris");
  });

  it("quotas: MAX_TASKS_PER_SERVER per server, and a task's manual runs once per 10 s", async () => {
    const w = keep(
      await makeWorld({ start: "2026-11-28T06:00:00Z", config: { MAX_TASKS_PER_SERVER: 2 } }),
    );
    const { service } = w.app;
    const add = (t: string, id: string) =>
      service.addTask(t, { id, handler: "test", schedule: "daily 09:00" });
    await add(GUILD_A, "a1");
    await add(GUILD_A, "a2");
    await expect(add(GUILD_A, "a3")).rejects.toThrow(
      /this server has 2 tasks, the most MAX_TASKS_PER_SERVER allows; delete one first/,
    );
    expect(service.listTasks(GUILD_A)).toHaveLength(2);
    await add(GUILD_B, "b1"); // another server's count is its own
    await service.deleteTask(GUILD_A, "a2");
    await add(GUILD_A, "a3");

    await service.runNow(GUILD_A, "a1");
    await expect(service.runNow(GUILD_A, "a1")).rejects.toThrow(
      /run by hand 0 s ago; a task runs by hand at most once every 10 s \(MANUAL_RUN_INTERVAL_SECONDS\) — try again in 10 s/,
    );
    await service.runNow(GUILD_A, "a3"); // another task is not held up
    await w.clock.advance(10_000);
    expect((await service.runNow(GUILD_A, "a1")).status).toBe("success");
    expect(service.getTask(GUILD_A, "a1").history.totalRuns).toBe(2);
  });

  it("a channel of another server is refused at add and edit, and nothing is stored", async () => {
    const channels: Record<string, string> = {
      "900000000000000001": GUILD_A,
      "900000000000000002": GUILD_B,
    };
    const w = keep(
      await makeWorld({
        start: "2026-11-28T06:00:00Z",
        channelGuild: async (id) => channels[id] ?? null,
      }),
    );
    const { service } = w.app;
    const add = (channelId: string) =>
      service.addTask(GUILD_A, { id: "news", handler: "test", schedule: "daily 09:00", channelId });
    await expect(add("900000000000000002")).rejects.toThrow(
      /channelId: <#900000000000000002> is in another server; pick a channel of this server/,
    );
    expect(service.listTasks(GUILD_A)).toEqual([]);
    await add("900000000000000001");
    await expect(
      service.editTask(GUILD_A, "news", { channelId: "900000000000000002" }),
    ).rejects.toThrow(/in another server/);
    expect(service.getTask(GUILD_A, "news").channelId).toBe("900000000000000001");
  });

  it("removed: its tasks stop and its data stays; invited back: all runs again; after the retention: purged", async () => {
    const h = scriptedHandler("rec", [() => "ok"]);
    const w = keep(
      await makeWorld({
        start: "2026-11-28T06:00:00Z",
        handlers: [h],
        config: { SERVER_DATA_RETENTION_DAYS: 30 },
      }),
    );
    const { servers, service, items } = w.app;
    expect(await servers.joined(GUILD_A)).toBe("new");
    expect(await servers.joined(GUILD_A)).toBe("known");
    await service.addTask(GUILD_A, { id: "tick", handler: "rec", schedule: "every 1h" });
    await service.addTask(GUILD_B, { id: "tick", handler: "rec", schedule: "every 1h" });
    await items.addItem(GUILD_A, "goal", "Ship");
    await runUntil(w, "2026-11-28T07:30:00Z");
    expect(h.calls.map((c) => c.task.guildId).sort()).toEqual([GUILD_A, GUILD_B]);

    await servers.removed(GUILD_A, w.clock.now());
    expect(service.nextRun(GUILD_A, "tick")).toBeNull();
    h.calls.length = 0;
    await runUntil(w, "2026-12-05T07:30:00Z");
    expect(new Set(h.calls.map((c) => c.task.guildId))).toEqual(new Set([GUILD_B]));
    expect(service.getTask(GUILD_A, "tick").enabled).toBe(true); // kept as it was

    expect(await servers.joined(GUILD_A)).toBe("back");
    expect(service.nextRun(GUILD_A, "tick")?.toISOString()).toBe("2026-12-05T08:00:00.000Z");
    expect(items.listItems(GUILD_A, "goal").map((g) => g.text)).toEqual(["Ship"]);

    await servers.removed(GUILD_A, w.clock.now());
    await w.clock.advanceTo("2027-01-03T07:00:00Z"); // 29 days on: still kept
    expect(await w.app.purgeRemovedServers()).toEqual([]);
    expect(service.listTasks(GUILD_A)).toHaveLength(1);
    await w.clock.advanceTo("2027-01-04T08:00:00Z"); // 30 days on: purged, files too
    expect(await w.app.purgeRemovedServers()).toEqual([GUILD_A]);
    expect(service.listTasks(GUILD_A)).toEqual([]);
    expect(items.listItems(GUILD_A, "goal", { includeDone: true })).toEqual([]);
    expect(await readdir(join(w.dataDir, "outputs"))).toEqual([GUILD_B]);
    expect(service.listTasks(GUILD_B)).toHaveLength(1);
    // Invited again after the purge: a new server.
    expect(await servers.joined(GUILD_A)).toBe("new");
  });
});

describe("handlers read only their own server's data", () => {
  it("the daily briefing of one server lists its goals, reminders and runs, none of another's", async () => {
    const { default: briefing } = await import("../handlers/daily-briefing.ts");
    const { default: test } = await import("../handlers/test.ts");
    const w = keep(await makeWorld({ start: "2026-11-28T06:00:00Z", handlers: [briefing, test] }));
    const { service, items } = w.app;
    for (const [t, who] of [
      [GUILD_A, "alpha"],
      [GUILD_B, "bravo"],
    ] as const) {
      await items.addItem(t, "goal", `${who} goal`);
      await items.addItem(t, "reminder", `${who} reminder`, "2026-11-28");
      await service.addTask(t, {
        id: `${who}-job`,
        handler: "test",
        schedule: "daily 09:00",
        retries: 0,
        options: { failWith: `${who} broke` },
      });
      await service.runNow(t, `${who}-job`);
      await service.addTask(t, { id: "brief", handler: "daily-briefing", schedule: "daily 08:00" });
    }
    const out = (await service.runNow(GUILD_A, "brief", { dryRun: true })).output ?? "";
    expect(out).toContain("alpha goal");
    expect(out).toContain("alpha reminder");
    expect(out).toContain("alpha-job");
    expect(out).not.toMatch(/bravo/);
  });
});
