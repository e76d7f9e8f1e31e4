import { createApp } from "../src/app.ts";
import { listEmbed } from "../src/discord/format.ts";
import { mixedTasks, noopHandler, writeDataDir } from "./fixtures.ts";
import { benchConfig, nowMs, prng } from "./lib.ts";
import { devNullLogger } from "./logger.ts";

// A shared bot: `servers` servers with `perServer` tasks each. Start-up and RSS in a fresh
// process; then, in it, a durable edit of one server's task, and `/task list` for one server
// (the service's overview and the embed Discord is sent).

export interface ServersArgs {
  dir: string;
  servers: number;
  perServer: number;
  samples: number;
}

export interface ServersResult {
  startupMs: number;
  rssMb: number;
  heapMb: number;
  editMs: number[];
  listMs: number[];
  listed: number;
}

/** The server ids of the fixture: 18-digit, like Discord's. */
export const serverId = (i: number) => String(100_000_000_000_000_000n + BigInt(i));

/** `servers` × `perServer` tasks, a mix of schedules, ids repeated in every server. */
export async function writeServersDir(dir: string, servers: number, perServer: number) {
  const tasks = mixedTasks(servers * perServer, Date.now()).map((t, i) => ({
    ...t,
    guildId: serverId(Math.floor(i / perServer)),
    id: `task-${i % perServer}`,
  }));
  await writeDataDir(dir, { tasks });
}

export async function serversChild(a: ServersArgs): Promise<ServersResult> {
  const t0 = nowMs();
  const app = await createApp({
    config: benchConfig(a.dir),
    log: devNullLogger(),
    handlers: [noopHandler()],
  });
  await app.scheduler.start();
  const startupMs = nowMs() - t0;
  const mem = process.memoryUsage();
  const rnd = prng(11);
  const pick = () => serverId(Math.floor(rnd() * a.servers));
  const editMs: number[] = [];
  for (let i = 0; i < a.samples; i++) {
    const tenant = pick();
    const task = `task-${Math.floor(rnd() * a.perServer)}`;
    const enabled = !app.service.getTask(tenant, task).enabled;
    const s = nowMs();
    await app.service.setEnabled(tenant, task, enabled);
    editMs.push(nowMs() - s);
  }
  const listMs: number[] = [];
  let listed = 0;
  for (let i = 0; i < a.samples * 5; i++) {
    const tenant = pick();
    const s = nowMs();
    const rows = app.service.overview(tenant);
    listEmbed(rows, 0).toJSON();
    listMs.push(nowMs() - s);
    listed = rows.length;
  }
  await app.close();
  return {
    startupMs,
    rssMb: mem.rss / 2 ** 20,
    heapMb: mem.heapUsed / 2 ** 20,
    editMs,
    listMs,
    listed,
  };
}
