import { mkdir, readFile, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import type { Tenant } from "../tasks/tenant.ts";
import { DayLog, dayOf, readLinesForward } from "./day-log.ts";
import { toExecution } from "./execution.ts";

// Where each task's newest line is, kept in <log folder>/heads.json between runs; and, once, the
// split of a single executions.jsonl from before day files into the folder.

/** Where a line is: its day's file and byte offset ("2026-11-28:1234"). */
export type Position = string;
export const at = (day: string, offset: number): Position => `${day}:${offset}`;
export function parsePosition(pos: Position): { day: string; offset: number } {
  return { day: pos.slice(0, 10), offset: Number(pos.slice(11)) };
}
export const taskKey = (tenant: Tenant, taskId: string) => `${tenant}/${taskId}`;

/** A log line: the attempt's JSON with the pointer to its task's previous line last. */
export function lineWithPrev(json: string, prev: Position | null): string {
  return `${json.slice(0, -1)},"prev":${JSON.stringify(prev)}}\n`;
}

/** Log lines (lineWithPrev's) written one after another as UTF-8, into a buffer that grows. */
export class LineBuffer {
  #buf: Buffer;
  #length = 0;

  constructor(capacity: number) {
    this.#buf = Buffer.allocUnsafe(Math.max(capacity, 1024));
  }

  /** Bytes written so far: where the next line starts. */
  get length(): number {
    return this.#length;
  }

  /** Adds lineWithPrev(json, prev). */
  addWithPrev(json: string, prev: Position | null): void {
    const tail = `,"prev":${JSON.stringify(prev)}}\n`;
    // At most 3 bytes per UTF-16 unit: room for both, whatever they hold.
    this.#reserve(3 * (json.length + tail.length));
    // The JSON's closing brace is written over by the tail, which closes the object again.
    this.#length += this.#buf.write(json, this.#length) - 1;
    this.#length += this.#buf.write(tail, this.#length);
  }

  /** The lines written: a view of the buffer, not a copy. */
  bytes(): Buffer {
    return this.#buf.subarray(0, this.#length);
  }

  #reserve(bytes: number): void {
    if (this.#length + bytes <= this.#buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(2 * this.#buf.length, this.#length + bytes));
    this.#buf.copy(bigger, 0, 0, this.#length);
    this.#buf = bigger;
  }
}

const HEADS = "heads.json";

interface SavedHeads {
  /** The size of each day's file when saved: lines after it are read again at start. */
  sizes: Record<string, number>;
  heads: Record<string, Position>;
}

/** Not fsynced: a lost or torn heads.json only means a longer rescan at the next start. */
export async function saveHeads(days: DayLog, heads: Map<string, Position>): Promise<void> {
  const saved: SavedHeads = { sizes: days.sizes(), heads: Object.fromEntries(heads) };
  const path = `${days.dir}/${HEADS}`;
  await mkdir(days.dir, { recursive: true, mode: 0o700 });
  await writeFile(`${path}.tmp`, JSON.stringify(saved), { mode: 0o600 });
  await rename(`${path}.tmp`, path);
}

/**
 * Gets the folder ready and returns where each task's newest line is: heads.json, brought up to
 * date with the lines written after it was saved (a crash), or every line when it is missing.
 */
export async function openLogFolder(
  days: DayLog,
  legacyTenant: Tenant,
): Promise<Map<string, Position>> {
  const legacy = `${days.dir}.jsonl`;
  if (await exists(legacy)) {
    // Split already (a crash came before the old file was removed), or split now.
    if (!(await days.days()).length) await splitLegacy(legacy, days.dir, legacyTenant);
    await unlink(legacy);
  }
  const heads = new Map<string, Position>();
  const path = `${days.dir}/${HEADS}`;
  let saved: SavedHeads | null = null;
  let savedAt = 0;
  try {
    const [text, info] = await Promise.all([readFile(path, "utf8"), stat(path)]);
    saved = JSON.parse(text) as SavedHeads;
    savedAt = info.mtimeMs;
    for (const [key, pos] of Object.entries(saved.heads)) heads.set(key, pos);
  } catch {
    saved = null; // missing or torn: every line is read below
  }
  for (const day of await days.days()) {
    const info = await stat(days.path(day)).catch(() => null);
    // Timestamps are coarse: a file touched in the same tick as heads.json is read again.
    if (!info || (saved && info.mtimeMs < savedAt)) continue;
    await days.readForward(day, saved?.sizes[day] ?? 0, (line, offset) => {
      const key = keyOf(line, legacyTenant);
      if (key) heads.set(key, at(day, offset));
    });
  }
  return heads;
}

function keyOf(line: string, legacyTenant: Tenant): string | null {
  try {
    const e = toExecution(JSON.parse(line), legacyTenant);
    return e ? taskKey(e.guildId, e.taskId) : null;
  } catch {
    return null;
  }
}

/**
 * executions.jsonl from before day files, into <dir>: each line in its day's file with the
 * pointer to its task's previous line. Written beside and renamed into place, so a crash leaves
 * either the old file alone or the folder whole. A line that cannot be read is kept as it was.
 */
async function splitLegacy(legacy: string, dir: string, legacyTenant: Tenant): Promise<void> {
  const tmp = `${dir}.split`;
  await rm(tmp, { recursive: true, force: true });
  const out = new DayLog(tmp);
  const heads = new Map<string, Position>();
  /** Lines waiting to be written, per day: the task's key (null: unreadable) and the JSON. */
  const pending = new Map<string, { key: string | null; json: string }[]>();
  let pendingBytes = 0;
  let day = "1970-01-01";
  const flush = async () => {
    for (const [d, items] of pending) {
      await out.append(d, (start) => {
        let offset = start;
        let text = "";
        for (const { key, json } of items) {
          const line = key ? lineWithPrev(json, heads.get(key) ?? null) : `${json}\n`;
          if (key) heads.set(key, at(d, offset));
          text += line;
          offset += Buffer.byteLength(line);
        }
        return text;
      });
    }
    pending.clear();
    pendingBytes = 0;
  };
  await readLinesForward(legacy, 0, (line) => {
    let e = null;
    try {
      e = toExecution(JSON.parse(line), legacyTenant);
    } catch {
      // kept as it was
    }
    if (e) day = dayOf(e.ts);
    const item = e
      ? { key: taskKey(e.guildId, e.taskId), json: JSON.stringify(e) }
      : { key: null, json: line };
    const list = pending.get(day);
    if (list) list.push(item);
    else pending.set(day, [item]);
    pendingBytes += item.json.length;
    return pendingBytes > 4 * 1024 * 1024 ? flush() : undefined;
  });
  await flush();
  await saveHeads(out, heads);
  await out.close();
  await rename(tmp, dir);
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null)) !== null;
}
