import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { pino } from "pino";
import { z } from "zod";
import { createApp } from "../src/app.ts";
import { createLogger } from "../src/shared/logger.ts";
import { defineHandler } from "../src/tasks/handler.ts";
import { benchConfig, childReady, nowMs, sleepMs, untilStopped } from "./lib.ts";

// One bot process of the PostgreSQL section (bench/postgres.ts): the app as main.ts builds it
// headless with DATABASE_URL (the store, the execution log and the shared run queue on
// PostgreSQL), its tasks run by the bench's own handler. It runs until the bench asks it to
// stop, or kills it.

export interface BotArgs {
  dir: string;
  url: string;
  /** Each run's handler waits this long, so runs are in progress when a process is killed. */
  sleepMs: number;
  /** Instants (ms since the epoch) whose handler calls are timed; the others only counted. */
  timed: number[];
}

export interface BotResult {
  /** Per timed instant: each call's lag (scheduled instant → handler called, ms) and task. */
  timed: { at: number; lagMs: number[]; taskIds: string[] }[];
  /** Handler calls in all. */
  calls: number;
  /** Its log's warnings and errors (level ≥ warn), counted by message (and its error's). */
  warnings: Record<string, number>;
}

export async function botChild(a: BotArgs): Promise<BotResult> {
  const timed = new Map(
    a.timed.map((at) => [at, { at, lagMs: [] as number[], taskIds: [] as string[] }]),
  );
  let calls = 0;
  /** Handlers called and not yet returned: the bench kills a process while it has some. */
  let inProgress = 0;
  process.on("message", (m) => {
    if ((m as { busy?: boolean }).busy) process.send?.({ inProgress });
  });
  const logFile = join(a.dir, "bot.log");
  const app = await createApp({
    config: { ...benchConfig(join(a.dir, "data"), 1), DATABASE_URL: a.url },
    // The production logger at info, to a file: the bench reads its warnings afterwards.
    log: createLogger("info", pino.destination({ dest: logFile, sync: true })),
    handlers: [
      defineHandler({
        name: "noop",
        description: "notes when it was called; waits sleepMs if asked",
        options: z.object({}),
        run(ctx) {
          const at = nowMs();
          calls++;
          const round = timed.get(ctx.scheduledFor.getTime());
          if (round) {
            round.lagMs.push(Math.round((at - ctx.scheduledFor.getTime()) * 1000) / 1000);
            round.taskIds.push(ctx.task.id);
          }
          if (!a.sleepMs) return undefined;
          inProgress++;
          return sleepMs(a.sleepMs).then(() => {
            inProgress--;
            return undefined;
          });
        },
      }),
    ],
  });
  await app.scheduler.start();
  childReady();
  await untilStopped();
  await app.close(5_000);
  return { timed: [...timed.values()], calls, warnings: await warningsIn(logFile) };
}

/** The warnings and errors of a bot's log file, counted by message. */
export async function warningsIn(file: string): Promise<Record<string, number>> {
  const text = await readFile(file, "utf8").catch(() => "");
  const counts: Record<string, number> = {};
  for (const line of text.split("\n")) {
    if (!line) continue;
    try {
      const { level, msg, err } = JSON.parse(line) as {
        level: number;
        msg: string;
        err?: { message?: string };
      };
      const key = err?.message ? `${msg}: ${err.message.slice(0, 160)}` : msg;
      if (level >= 40) counts[key] = (counts[key] ?? 0) + 1;
    } catch {
      // a line cut by kill -9
    }
  }
  return counts;
}
