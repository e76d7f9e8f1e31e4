import { ActivityTally, type TaskActivity } from "../tasks/activity.ts";
import { LOCAL, type Tenant } from "../tasks/tenant.ts";
import { addDays } from "../time/relative.ts";
import { DayLog, dayOf, type Removed } from "./day-log.ts";
import { DaySummaries } from "./day-summaries.ts";
import { type Execution, toExecution } from "./execution.ts";
import type { ExecutionRecords } from "./execution-records.ts";
import {
  at,
  LineBuffer,
  openLogFolder,
  type Position,
  parsePosition,
  saveHeads,
  taskKey,
} from "./log-folder.ts";

/** Clock adjustments and slow runs: how far out of time order a line may sit. */
const SLACK_MS = 10 * 60_000;

interface Batch {
  entries: Execution[];
  done: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

/** Positions are saved after this many lines, so a crash leaves little to rescan at start. */
const SAVE_HEADS_EVERY = 20_000;
/** How far back a history read follows a task's lines at most. */
export const MAX_RECENT = 1000;

/**
 * data/logs/executions/YYYY-MM-DD.jsonl. Each line also names where its task's previous line is
 * (`prev`), and the log keeps where each task's newest line is (saved in heads.json), so a
 * task's history is read by following its own lines back: the cost is the lines wanted,
 * whatever the size of the log. Time windows (the briefing, catch-up) read the days they cover
 * from their ends; whole past days are tallied once into a summary beside the day's file.
 */
export class ExecutionLog implements ExecutionRecords {
  readonly days: DayLog;
  /** Lines waiting for the write in flight to finish; they go out together in the next one. */
  #next: Batch | null = null;
  #writing: Promise<void> | null = null;
  /** Settles once every line appended so far is written (or failed). */
  #settled: Promise<void> = Promise.resolve();
  #ready: Promise<void> | null = null;
  /** Each task's newest line. */
  #heads = new Map<string, Position>();
  #unsaved = 0;
  readonly #summaries = new DaySummaries(this);

  /**
   * `dir`: the folder of day files; a single `<dir>.jsonl` from before is split into it once.
   * `legacyTenant`: whose lines those written before servers were tenants are. `onSkipped`
   * hears how many lines a read could not use (torn by a crash, damaged).
   */
  constructor(
    readonly dir: string,
    private readonly legacyTenant: Tenant = LOCAL,
    private readonly onSkipped?: (count: number) => void,
  ) {
    this.days = new DayLog(dir);
  }

  /** Bytes this log has read from disk so far. */
  get bytesRead(): number {
    return this.days.bytesRead;
  }

  #open(): Promise<void> {
    this.#ready ??= openLogFolder(this.days, this.legacyTenant).then(
      (heads) => {
        this.#heads = heads;
      },
      (err) => {
        this.#ready = null; // tried again by the next read or write, not failed for good
        throw err;
      },
    );
    return this.#ready;
  }

  /** Appends in call order, and resolves once the line is written. */
  append(entry: Execution): Promise<void> {
    let batch = this.#next;
    if (!batch) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const done = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      batch = { entries: [], done, resolve, reject };
      this.#next = batch;
      this.#settled = done.catch(() => {});
    }
    batch.entries.push(entry);
    this.#writing ??= this.#drain();
    return batch.done;
  }

  async #drain(): Promise<void> {
    for (let batch = this.#next; batch; batch = this.#next) {
      this.#next = null;
      try {
        await this.#open();
        await this.#write(batch.entries);
        batch.resolve();
      } catch (err) {
        batch.reject(err);
      }
      if (this.#unsaved >= SAVE_HEADS_EVERY) await this.#saveHeads();
    }
    this.#writing = null;
  }

  async #write(entries: Execution[]): Promise<void> {
    // Lines go to the day of their timestamp; a batch may straddle midnight.
    const byDay = new Map<string, Execution[]>();
    for (const e of entries) {
      const day = dayOf(e.ts);
      const list = byDay.get(day);
      if (list) list.push(e);
      else byDay.set(day, [e]);
    }
    for (const [day, list] of byDay) {
      const before = new Map<string, Position | undefined>();
      try {
        await this.days.append(day, (start) => {
          // The lines go straight into one buffer: writing each tells its length in bytes, and
          // no string of the whole batch is built, then flattened and encoded (a second's runs
          // are hundreds of kilobytes).
          const lines = new LineBuffer(list.length * 320);
          for (const e of list) {
            const key = taskKey(e.guildId, e.taskId);
            const prev = this.#heads.get(key);
            if (!before.has(key)) before.set(key, prev);
            this.#heads.set(key, at(day, start + lines.length));
            lines.addWithPrev(JSON.stringify(e), prev ?? null);
          }
          return lines.bytes();
        });
        this.#unsaved += list.length;
      } catch (err) {
        for (const [key, pos] of before) {
          if (pos === undefined) this.#heads.delete(key);
          else this.#heads.set(key, pos);
        }
        throw err;
      }
    }
  }

  async #saveHeads(): Promise<void> {
    this.#unsaved = 0;
    await saveHeads(this.days, this.#heads).catch(() => {
      // only a shortcut for the next start, which rescans what it cannot trust
    });
  }

  /**
   * A line as an attempt and where its task's previous line is, or null (torn by a crash,
   * damaged): counted in `skipped`.
   */
  #parse(line: string, skipped: { count: number }): { e: Execution; prev: Position | null } | null {
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      skipped.count++;
      return null;
    }
    const e = toExecution(raw, this.legacyTenant);
    if (!e) {
      skipped.count++;
      return null;
    }
    const { prev } = raw as { prev?: unknown };
    return { e, prev: typeof prev === "string" ? prev : null };
  }

  #report(skipped: { count: number }): void {
    if (skipped.count) this.onSkipped?.(skipped.count);
  }

  /**
   * Walks the log from the newest line back; `visit` returns false to stop. `newestDay` starts
   * the walk at that day.
   */
  async readBackwards(visit: (e: Execution) => boolean, newestDay?: string): Promise<void> {
    await this.#open();
    await this.#settled;
    const skipped = { count: 0 };
    try {
      await this.days.readBackwards((line) => {
        const parsed = this.#parse(line, skipped);
        return parsed ? visit(parsed.e) : true;
      }, newestDay);
    } finally {
      this.#report(skipped);
    }
  }

  /** Entries with ts >= sinceMs, oldest first. For short windows (catch-up). */
  async since(sinceMs: number): Promise<Execution[]> {
    const found: Execution[] = [];
    await this.#window(sinceMs, Number.POSITIVE_INFINITY, (e) => found.push(e));
    return found.reverse();
  }

  /** Visits the entries with sinceMs <= ts < untilMs, newest first. */
  async #window(
    sinceMs: number,
    untilMs: number,
    visit: (e: Execution) => void,
    newestDay?: string,
  ): Promise<void> {
    await this.readBackwards((e) => {
      const ts = Date.parse(e.ts);
      // Lines are appended in time order, give or take a clock adjustment: read a little past.
      if (ts < sinceMs - SLACK_MS) return false;
      if (ts >= sinceMs && ts < untilMs) visit(e);
      return true;
    }, newestDay);
  }

  /**
   * Runs per task of one tenant with sinceMs <= ts < untilMs (no end: up to the newest line),
   * busiest first. Whole days before the last one come from their summaries, so a long window
   * costs its days, not its lines.
   */
  async activity(
    tenant: Tenant,
    sinceMs: number,
    untilMs = Number.POSITIVE_INFINITY,
  ): Promise<TaskActivity[]> {
    await this.#open();
    const tally = new ActivityTally();
    const firstDay = dayOf(sinceMs);
    const firstWhole = firstDay === dayOf(sinceMs - 1) ? addDays(firstDay, 1) : firstDay;
    const lastDay = Number.isFinite(untilMs)
      ? dayOf(untilMs)
      : ((await this.days.days()).at(-1) ?? firstDay);
    // The partial last day, then the whole days before it, then the partial first day.
    const visit = (e: Execution) => {
      if (e.guildId === tenant) tally.add(e);
    };
    const lastStart = Math.max(sinceMs, Date.parse(`${lastDay}T00:00:00Z`));
    const newest = Number.isFinite(untilMs) ? dayOf(untilMs + SLACK_MS) : undefined;
    await this.#window(lastStart, untilMs, visit, newest);
    for (let day = addDays(lastDay, -1); day >= firstWhole; day = addDays(day, -1)) {
      tally.merge(await this.#summaries.of(day, tenant));
    }
    if (firstDay < firstWhole && firstDay < lastDay) {
      await this.#window(sinceMs, Date.parse(`${firstWhole}T00:00:00Z`), visit, firstDay);
    }
    return tally.result();
  }

  /** One tally per tenant of a whole day's lines. */
  async tallyDay(day: string): Promise<Map<Tenant, TaskActivity[]>> {
    const tallies = new Map<Tenant, ActivityTally>();
    const skipped = { count: 0 };
    try {
      await this.days.readDayBackwards(day, (line) => {
        const e = this.#parse(line, skipped)?.e;
        if (!e) return true;
        let t = tallies.get(e.guildId);
        if (!t) {
          t = new ActivityTally();
          tallies.set(e.guildId, t);
        }
        t.add(e);
        return true;
      });
    } finally {
      this.#report(skipped);
    }
    return new Map([...tallies].map(([tenant, t]) => [tenant, t.result()]));
  }

  /** The newest `limit` entries of one task, oldest first, by following its own lines back. */
  async recent(tenant: Tenant, taskId: string, limit: number): Promise<Execution[]> {
    return (await this.recentMany(tenant, [taskId], limit)).get(taskId) ?? [];
  }

  /** `recent` for several tasks, through one reader: a day file is opened once for them all. */
  async recentMany(
    tenant: Tenant,
    taskIds: readonly string[],
    limit: number,
  ): Promise<Map<string, Execution[]>> {
    await this.#open();
    await this.#settled;
    const all = new Map<string, Execution[]>();
    const reader = this.days.lineReader();
    const skipped = { count: 0 };
    try {
      for (const taskId of taskIds) {
        const found: Execution[] = [];
        let pos = this.#heads.get(taskKey(tenant, taskId));
        while (pos && found.length < Math.min(limit, MAX_RECENT)) {
          const { day, offset } = parsePosition(pos);
          const line = reader.read(day, offset);
          // A day removed by retention ends the history.
          if (line === null) break;
          const parsed = this.#parse(line, skipped);
          if (!parsed || parsed.e.taskId !== taskId || parsed.e.guildId !== tenant) break;
          pos = parsed.prev ?? undefined;
          found.push(parsed.e);
        }
        all.set(taskId, found.reverse());
      }
    } finally {
      reader.close();
      this.#report(skipped);
    }
    return all;
  }

  /**
   * Removes (dryRun: only lists) the days before `day`; the tasks whose newest line was in them
   * have no history left.
   */
  async removeBefore(day: string, dryRun: boolean): Promise<Removed[]> {
    await this.#open();
    await this.#settled;
    const removed = await this.days.removeBefore(day, dryRun);
    if (!dryRun && removed.length) {
      for (const [key, pos] of this.#heads) if (pos < day) this.#heads.delete(key);
      await this.#saveHeads();
    }
    return removed;
  }

  /** Waits for the lines in flight, and saves where each task's newest line is. */
  async close(): Promise<void> {
    if (!this.#ready) return;
    await this.#ready.catch(() => {});
    await this.#settled;
    await this.#saveHeads();
    await this.days.close();
  }
}
