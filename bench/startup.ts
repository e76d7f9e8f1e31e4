import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Cron } from "croner";
import { createApp } from "../src/app.ts";
import type { Db } from "../src/store/db-schema.ts";
import { noopHandler } from "./fixtures.ts";
import { benchConfig } from "./lib.ts";
import { devNullLogger } from "./logger.ts";

// Start-up and memory: one fresh process per measurement, on a data dir written beforehand.
// "ours" opens the store (read, parse, validate unless db.json.checked vouches for the file,
// backup) and schedules every task; "croner" is the alternative the README rejects: one croner
// job per task.

export interface StartupArgs {
  impl: "ours" | "croner";
  dir: string;
}

export interface StartupResult {
  ms: number;
  /** Right after start-up. */
  rssMb: number;
  heapMb: number;
}

const mb = (bytes: number) => bytes / 1024 / 1024;

export async function startupChild({ impl, dir }: StartupArgs): Promise<StartupResult> {
  const log = devNullLogger();
  const handlers = [noopHandler()];
  let keep: unknown;
  const t0 = performance.now();
  if (impl === "ours") {
    const app = await createApp({
      config: benchConfig(dir),
      log,
      handlers,
    });
    await app.scheduler.start();
    keep = app;
  } else {
    const db = JSON.parse(await readFile(join(dir, "db.json"), "utf8")) as Db;
    keep = db.tasks.map((t) => {
      const s = t.schedule;
      const pattern =
        s.type === "interval"
          ? `0 0 */${s.every} * * *`
          : s.type === "daily"
            ? `0 ${Number(s.time.slice(3))} ${Number(s.time.slice(0, 2))} * * *`
            : s.type === "weekly"
              ? `0 ${Number(s.time.slice(3))} ${Number(s.time.slice(0, 2))} * * ${s.days.join(",")}`
              : s.type === "cron"
                ? s.expression
                : `${s.at}:00`;
      return new Cron(pattern, { timezone: t.timezone }, () => {});
    });
  }
  const ms = performance.now() - t0;
  const mem = process.memoryUsage();
  void keep;
  return { ms, rssMb: mb(mem.rss), heapMb: mb(mem.heapUsed) };
}
