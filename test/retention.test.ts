import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import briefing from "../handlers/daily-briefing.ts";
import testHandler from "../handlers/test.ts";
import { DeliveryJournal, REMEMBER_MS } from "../src/discord/delivery-journal.ts";
import { closedAfterEach, makeWorld, runUntil, tempDir } from "./support/world.ts";

const keep = closedAfterEach();
const DAY = 86_400_000;

async function filesUnder(dir: string): Promise<{ path: string; bytes: number }[]> {
  const found: { path: string; bytes: number }[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await filesUnder(path)));
    else found.push({ path, bytes: (await stat(path)).size });
  }
  return found;
}

describe("retention", () => {
  it("over 60 days with RETENTION_DAYS=7 keeps at most 8 days of log and outputs, and every briefing", async () => {
    const w = keep(
      await makeWorld({
        start: "2026-09-01T00:30:00Z",
        handlers: [testHandler, briefing],
        config: { RETENTION_DAYS: 7 },
      }),
    );
    const { service, retention } = w.app;
    await service.addTask("local", {
      id: "pulse",
      handler: "test",
      schedule: "cron 0 */3 * * *",
      options: { message: "beat" },
    });
    await service.addTask("local", { id: "b", handler: "daily-briefing", schedule: "daily 08:00" });
    const volume: number[] = [];
    for (let day = 1; day <= 60; day++) {
      await runUntil(w, Date.parse("2026-09-01T00:30:00Z") + day * DAY);
      await retention.cleanup();
      const logs = await filesUnder(join(w.dataDir, "logs"));
      const outputs = await filesUnder(join(w.dataDir, "outputs"));
      volume.push([...logs, ...outputs].reduce((n, f) => n + f.bytes, 0));
    }
    const days = (await readdir(join(w.dataDir, "logs", "executions"))).filter((n) =>
      n.endsWith(".jsonl"),
    );
    expect(days.length).toBeGreaterThanOrEqual(7);
    expect(days.length).toBeLessThanOrEqual(8);
    // Eight runs a day: at most 8 days of outputs are left.
    const outputs = await filesUnder(join(w.dataDir, "outputs", "local", "pulse"));
    expect(outputs.length).toBeLessThanOrEqual(8 * 8);
    expect(outputs.length).toBeGreaterThanOrEqual(7 * 8);
    // The disk stops growing once the first week is behind: the last day's volume is about
    // the eighth's, not seven times it.
    const perDay = (volume[59] as number) / 8;
    expect(volume[59]).toBeLessThan((volume[7] as number) * 1.2);
    expect(perDay).toBeGreaterThan(0);
    const briefings = await readdir(join(w.dataDir, "briefings", "local"));
    expect(briefings).toHaveLength(60);
    // A history ends where the kept days begin.
    const history = await service.history("local", "pulse", 1000);
    expect(history.recent.length).toBeLessThanOrEqual(8 * 8);
    expect(Date.parse(history.recent[0]?.ts ?? "")).toBeGreaterThan(w.clock.now() - 9 * DAY);
  });

  it("a dry run lists what would go and removes nothing; --older-than picks another age", async () => {
    const w = keep(await makeWorld({ start: "2026-11-01T00:30:00Z" }));
    const { service, retention } = w.app;
    await service.addTask("local", {
      id: "t",
      handler: "test",
      schedule: "daily 06:00",
      options: { message: "x" },
    });
    await runUntil(w, "2026-11-20T00:30:00Z");
    const before = await filesUnder(w.dataDir);
    const dry = await retention.cleanup({ olderThanDays: 10, dryRun: true });
    expect(dry.dryRun).toBe(true);
    expect(await filesUnder(w.dataDir)).toEqual(before);
    // Nine days of log and nine outputs, before 2026-11-10.
    expect(dry.kinds).toEqual([
      { kind: "execution log", files: 9, bytes: expect.any(Number) },
      { kind: "delivery records", files: 0, bytes: 0 },
      { kind: "outputs", files: 9, bytes: expect.any(Number) },
    ]);
    const done = await retention.cleanup({ olderThanDays: 10 });
    expect(done.removed.map((r) => r.path)).toEqual(dry.removed.map((r) => r.path));
    for (const r of done.removed) expect(await stat(r.path).catch(() => null)).toBeNull();
    expect((await retention.cleanup({ olderThanDays: 10 })).removed).toEqual([]);
    // RETENTION_DAYS (90 here) removes nothing yet.
    expect((await retention.cleanup()).removed).toEqual([]);
  });
});

describe("delivery records", () => {
  it("are kept per day and remembered for REMEMBER_MS only, however many runs post", async () => {
    const dir = await tempDir();
    try {
      let now = Date.parse("2026-11-28T00:00:00Z");
      const journal = new DeliveryJournal(join(dir.path, "deliveries"), "local", () => now);
      await journal.posted("warm-up");
      // One post a minute for 10 hours.
      for (let i = 0; i < 600; i++) {
        now += 60_000;
        await journal.mark(`local/t@${i}`, "t", "posting", "c");
        await journal.mark(`local/t@${i}`, "t", "posted", "c");
      }
      expect(journal.remembered).toBeLessThanOrEqual(REMEMBER_MS / 60_000 + 1);
      expect(await journal.posted("local/t@599")).toBe(true);
      // After a restart: what was posted in the last hours is known again, from the files.
      const again = new DeliveryJournal(join(dir.path, "deliveries"), "local", () => now);
      expect(await again.posted("local/t@590")).toBe(true);
      expect(again.remembered).toBeLessThanOrEqual(REMEMBER_MS / 60_000 + 1);
      expect(await readdir(join(dir.path, "deliveries"))).toEqual(["2026-11-28.jsonl"]);
    } finally {
      await dir.remove();
    }
  });
});
