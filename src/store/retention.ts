import { readdir, rmdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { dayOf, type Removed } from "./day-log.ts";
import type { DeliveryRecords } from "./delivery-records.ts";
import type { ExecutionRecords } from "./execution-records.ts";

// What RETENTION_DAYS removes: execution log days, delivery record days and saved outputs older
// than the cutoff. Briefings (and reviews) are the archive and stay. The bot does this once a
// day; `cleanup` in the CLI does it on demand, or shows what it would do.

export interface CleanupReport {
  /** Files older than this were removed (or would be). */
  cutoff: Date;
  dryRun: boolean;
  /** What was removed, by kind. */
  kinds: { kind: "execution log" | "delivery records" | "outputs"; files: number; bytes: number }[];
  removed: Removed[];
}

/**
 * An output file is named for its day (2026-11-28.md: every run of that day), or, written by
 * an earlier version, for its run's start (2026-11-28T07-00-00-000Z-a1.md).
 */
const DAY_NAMED = /^(\d{4}-\d{2}-\d{2})\.md$/;
const STAMPED = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z/;

export class Retention {
  constructor(
    private readonly deps: {
      dataDir: string;
      executionLog: ExecutionRecords;
      deliveries: DeliveryRecords;
      now: () => number;
      retentionDays: number;
    },
  ) {}

  /** Removes (dryRun: only lists) what is older than `olderThanDays` (RETENTION_DAYS by default). */
  async cleanup(opts: { olderThanDays?: number; dryRun?: boolean } = {}): Promise<CleanupReport> {
    const { dataDir, executionLog, deliveries: records } = this.deps;
    const dryRun = opts.dryRun ?? false;
    const cutoff = this.deps.now() - (opts.olderThanDays ?? this.deps.retentionDays) * 86_400_000;
    // Whole days: a day goes once all of it is older than the cutoff.
    const day = dayOf(cutoff);
    const log = await executionLog.removeBefore(day, dryRun);
    const deliveriesDir = join(dataDir, "logs", "deliveries");
    const deliveries = await records.removeBefore(day, dryRun);
    deliveries.push(...(await removeIfOlder(`${deliveriesDir}.jsonl`, cutoff, dryRun)));
    const outputs = await removeOutputs(join(dataDir, "outputs"), cutoff, dryRun);
    const kinds = [
      { kind: "execution log" as const, list: log },
      { kind: "delivery records" as const, list: deliveries },
      { kind: "outputs" as const, list: outputs },
    ].map(({ kind, list }) => ({
      kind,
      files: list.length,
      bytes: list.reduce((n, r) => n + r.bytes, 0),
    }));
    return {
      cutoff: new Date(cutoff),
      dryRun,
      kinds,
      removed: [...log, ...deliveries, ...outputs],
    };
  }
}

/** outputs/<server>/<task>/<stamp>-aN.md (any depth): files older than the cutoff, then empty folders. */
async function removeOutputs(dir: string, cutoff: number, dryRun: boolean): Promise<Removed[]> {
  const removed: Removed[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      removed.push(...(await removeOutputs(path, cutoff, dryRun)));
      // Only an emptied folder goes: rmdir refuses one with files left.
      if (!dryRun) await rmdir(path).catch(() => {});
      continue;
    }
    const m = STAMPED.exec(entry.name);
    const day = DAY_NAMED.exec(entry.name)?.[1];
    // The name says when its runs were (a day's file goes once all of the day is past the
    // cutoff); a file named otherwise goes by when it was written.
    const when = m
      ? Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4]}.${m[5]}Z`)
      : day
        ? Date.parse(`${day}T00:00:00Z`) + 86_400_000 - 1
        : null;
    if (when !== null && when >= cutoff) continue;
    const info = await stat(path).catch(() => null);
    if (!info || (when === null && info.mtimeMs >= cutoff)) continue;
    if (!dryRun) await unlink(path);
    removed.push({ path, bytes: info.size });
  }
  return removed;
}

async function removeIfOlder(path: string, cutoff: number, dryRun: boolean): Promise<Removed[]> {
  const info = await stat(path).catch(() => null);
  if (!info || info.mtimeMs >= cutoff) return [];
  if (!dryRun) await unlink(path);
  return [{ path, bytes: info.size }];
}
