import { readFile, rename, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TaskActivity } from "../tasks/activity.ts";
import type { Tenant } from "../tasks/tenant.ts";
import type { ExecutionLog } from "./execution-log.ts";

// A whole past day's runs per tenant and task, tallied once into <day>.summary.json beside the
// day's file: a week's review reads seven summaries, not a week of lines. A summary older than
// its day's file (a line written late, after a clock step) is made again.

/** Parsed summaries kept in memory: a week and a day. */
const CACHED_DAYS = 8;

type Summary = Record<Tenant, TaskActivity[]>;

export class DaySummaries {
  readonly #cache = new Map<string, Summary>();

  constructor(private readonly log: ExecutionLog) {}

  async of(day: string, tenant: Tenant): Promise<readonly TaskActivity[]> {
    return (await this.#summary(day))[tenant] ?? [];
  }

  async #summary(day: string): Promise<Summary> {
    const cached = this.#cache.get(day);
    if (cached) return cached;
    const file = this.log.days.path(day);
    const path = join(this.log.days.dir, `${day}.summary.json`);
    const [dayInfo, info] = await Promise.all([
      stat(file).catch(() => null),
      stat(path).catch(() => null),
    ]);
    let summary: Summary = {};
    if (dayInfo) {
      const saved =
        info && info.mtimeMs >= dayInfo.mtimeMs
          ? await readFile(path, "utf8")
              .then((t) => JSON.parse(t) as Summary)
              .catch(() => null)
          : null;
      summary = saved ?? Object.fromEntries(await this.log.tallyDay(day));
      if (!saved) {
        await writeFile(`${path}.tmp`, JSON.stringify(summary), { mode: 0o600 });
        await rename(`${path}.tmp`, path);
      }
    }
    this.#cache.set(day, summary);
    for (const old of this.#cache.keys()) {
      if (this.#cache.size <= CACHED_DAYS) break;
      this.#cache.delete(old);
    }
    return summary;
  }
}
