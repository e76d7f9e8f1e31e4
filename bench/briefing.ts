import dailyBriefing from "../handlers/daily-briefing.ts";
import { createApp } from "../src/app.ts";
import { goals, logLines, makeTask, noopHandler, reminders, writeDataDir } from "./fixtures.ts";
import { benchConfig, tempDir } from "./lib.ts";
import { devNullLogger } from "./logger.ts";

// The daily briefing generated through the service (runNow, dry run: the handler and the
// runner around it, nothing saved) with 100 goals, 50 reminders and 10,000 log lines, all of
// them inside the briefing's last-24-hours window (the worst case: every line is read).

export interface BriefingArgs {
  goals: number;
  reminders: number;
  logLines: number;
  rounds: number;
  perRound: number;
}

export interface BriefingResult {
  /** Each round's samples, in ms. */
  rounds: number[][];
  bytes: number;
}

export async function briefingChild(a: BriefingArgs): Promise<BriefingResult> {
  const dir = await tempDir();
  const now = Date.now();
  await writeDataDir(dir.path, {
    tasks: [
      makeTask("briefing", { type: "daily", time: "08:00" }, "Europe/Paris", now - 86_400_000),
    ].map((t) => ({ ...t, handler: "daily-briefing" })),
    goals: goals(a.goals, now),
    reminders: reminders(a.reminders, now),
    log: logLines(a.logLines, now, 23 * 3_600_000),
  });
  const app = await createApp({
    config: benchConfig(dir.path, 60, 0),
    log: devNullLogger(),
    handlers: [dailyBriefing, noopHandler()],
  });
  const once = async () => {
    const t = performance.now();
    const r = await app.service.runNow("local", "briefing", { dryRun: true });
    if (r.status !== "success") throw new Error(`briefing failed: ${r.error}`);
    return { ms: performance.now() - t, bytes: r.output?.length ?? 0 };
  };
  const { bytes } = await once(); // warm-up
  const rounds: number[][] = [];
  for (let r = 0; r < a.rounds; r++) {
    const ms: number[] = [];
    for (let i = 0; i < a.perRound; i++) ms.push((await once()).ms);
    rounds.push(ms);
  }
  await app.close();
  await dir.remove();
  return { rounds, bytes };
}
