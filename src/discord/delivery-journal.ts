import { DayLog, dayOf, type Removed, readLinesBackwards } from "../store/day-log.ts";
import type { DeliveryRecords } from "../store/delivery-records.ts";
import { LOCAL, type Tenant } from "../tasks/tenant.ts";

// data/logs/deliveries/YYYY-MM-DD.jsonl: a run's key is written before and after its output is
// posted, so a run that is executed again (a retry, or a catch-up after a crash: same task, same
// scheduled instant) is not posted twice. Retention removes old days like the execution log's.

/**
 * How long a post is remembered: a run is executed again only within the catch-up window (an
 * hour at most) plus its retries (10 × 15 minutes at most). Memory holds this long of posts.
 */
export const REMEMBER_MS = 4 * 3_600_000;

export class DeliveryJournal implements DeliveryRecords {
  readonly days: DayLog;
  /** Run key → when it was posted, oldest first; entries older than REMEMBER_MS are dropped. */
  #posted: Map<string, number> | null = null;
  #queue: Promise<void> = Promise.resolve();

  /**
   * `dir`: the folder of day files (a single `<dir>.jsonl` from before is read too, until
   * retention removes it). `legacyTenant`: whose runs the lines written before servers were
   * tenants are.
   */
  constructor(
    readonly dir: string,
    private readonly legacyTenant: Tenant = LOCAL,
    private readonly now: () => number = Date.now,
  ) {
    this.days = new DayLog(dir);
  }

  async posted(runId: string): Promise<boolean> {
    this.#posted ??= await this.#load();
    return this.#posted.has(runId);
  }

  /** How many posts are remembered (bounded by REMEMBER_MS). */
  get remembered(): number {
    return this.#posted?.size ?? 0;
  }

  mark(
    runId: string,
    taskId: string,
    phase: "posting" | "posted",
    channelId: string,
  ): Promise<void> {
    const now = this.now();
    if (phase === "posted" && this.#posted) {
      this.#posted.set(runId, now);
      this.#forget(now);
    }
    const ts = new Date(now).toISOString();
    const line = `${JSON.stringify({ ts, runId, taskId, phase, channelId })}\n`;
    const next = this.#queue.then(() => this.days.append(dayOf(ts), () => line));
    this.#queue = next.catch(() => {});
    return next;
  }

  removeBefore(day: string, dryRun: boolean): Promise<Removed[]> {
    return this.days.removeBefore(day, dryRun);
  }

  #forget(now: number): void {
    const posted = this.#posted;
    if (!posted) return;
    for (const [key, at] of posted) {
      if (at >= now - REMEMBER_MS) break;
      posted.delete(key);
    }
  }

  /** The posts of the last REMEMBER_MS, read from the newest line back. */
  async #load(): Promise<Map<string, number>> {
    const since = this.now() - REMEMBER_MS;
    const found: [string, number][] = [];
    const take = (line: string): boolean => {
      try {
        const e = JSON.parse(line) as { ts?: string; runId?: string; phase?: string };
        const at = Date.parse(e.ts ?? "");
        if (at < since) return false;
        if (e.phase !== "posted" || !e.runId) return true;
        // A run key without a tenant is from before servers were tenants.
        found.push([e.runId.includes("/") ? e.runId : `${this.legacyTenant}/${e.runId}`, at]);
      } catch {
        // a torn or partial line
      }
      return true;
    };
    let stopped = false;
    await this.days.readBackwards((line) => {
      stopped = !take(line);
      return !stopped;
    });
    if (!stopped) await readLinesBackwards(`${this.dir}.jsonl`, take);
    return new Map(found.reverse());
  }
}
