import { closeSync, openSync, readSync } from "node:fs";
import { type FileHandle, mkdir, open, readdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";

// A log kept as one file per UTC day (<dir>/YYYY-MM-DD.jsonl): a line goes to the day of its
// timestamp, reads walk the days newest first and stop when they have what they need, and
// retention removes whole days. Nothing is ever rewritten in place.

const DAY_FILE = /^(\d{4}-\d{2}-\d{2})\.jsonl$/;
const CHUNK = 64 * 1024;
/** Files kept open for appends: today's and yesterday's (a line a hair after midnight). */
const OPEN_DAYS = 2;

/** The UTC day of an ISO timestamp or of ms since the epoch. */
export function dayOf(at: string | number): string {
  return (typeof at === "number" ? new Date(at).toISOString() : at).slice(0, 10);
}

export interface Removed {
  path: string;
  bytes: number;
}

export class DayLog {
  /** Bytes read from disk by this log's reads: what tests count to show a read is bounded. */
  bytesRead = 0;
  readonly #open = new Map<string, { handle: FileHandle; size: number }>();
  #madeDir = false;

  constructor(readonly dir: string) {}

  path(day: string): string {
    return join(this.dir, `${day}.jsonl`);
  }

  /** The days that have a file, oldest first. */
  async days(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names
      .map((n) => DAY_FILE.exec(n)?.[1])
      .filter((d): d is string => d !== undefined)
      .sort();
  }

  /**
   * Appends to one day's file what `build` makes (text, or its UTF-8 bytes), given the byte
   * offset it will start at. A line torn by a crash is closed off first. Calls must not overlap
   * (the caller queues them).
   */
  async append(day: string, build: (start: number) => string | Uint8Array): Promise<void> {
    const file = await this.#file(day);
    const data = build(file.size);
    try {
      await file.handle.appendFile(data);
      file.size += typeof data === "string" ? Buffer.byteLength(data) : data.length;
    } catch (err) {
      // Whatever reached the disk is unknown: the next append looks at the file afresh.
      this.#open.delete(day);
      await file.handle.close().catch(() => {});
      throw err;
    }
  }

  async #file(day: string): Promise<{ handle: FileHandle; size: number }> {
    const known = this.#open.get(day);
    if (known) return known;
    if (!this.#madeDir) {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      this.#madeDir = true;
    }
    const handle = await open(this.path(day), "a+", 0o600);
    let { size } = await handle.stat();
    if (size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) {
        await handle.appendFile("\n");
        size++;
      }
    }
    const file = { handle, size };
    this.#open.set(day, file);
    for (const [old, f] of this.#open) {
      if (this.#open.size <= OPEN_DAYS) break;
      this.#open.delete(old);
      await f.handle.close();
    }
    return file;
  }

  /**
   * Walks whole lines from the newest back, day by day; `visit` returns false to stop. Reads each
   * file in chunks from its end, so a read costs what it visits, not the log's size.
   */
  async readBackwards(visit: (line: string) => boolean, newestDay?: string): Promise<void> {
    const days = (await this.days()).filter((d) => newestDay === undefined || d <= newestDay);
    for (const day of days.reverse()) {
      if (!(await this.readDayBackwards(day, visit))) return;
    }
  }

  /** One day's lines from the newest back; false when `visit` stopped the walk. */
  async readDayBackwards(day: string, visit: (line: string) => boolean): Promise<boolean> {
    const { read, stopped } = await readLinesBackwards(this.path(day), visit);
    this.bytesRead += read;
    return !stopped;
  }

  /** Whole lines of one day from byte `from` on, with the offset each starts at. */
  async readForward(
    day: string,
    from: number,
    visit: (line: string, offset: number) => void,
  ): Promise<void> {
    this.bytesRead += await readLinesForward(this.path(day), from, visit);
  }

  /**
   * Reads single lines by position, synchronously: following a chain of a few hundred
   * pointers costs microseconds each from the page cache, where a promise per read costs more
   * than the read. `close()` when done.
   */
  lineReader(): { read(day: string, offset: number): string | null; close(): void } {
    const fds = new Map<string, number | null>();
    const fdOf = (day: string) => {
      if (!fds.has(day)) {
        let fd: number | null = null;
        try {
          fd = openSync(this.path(day), "r");
        } catch {
          // removed by retention: the chain ends here
        }
        fds.set(day, fd);
      }
      return fds.get(day) ?? null;
    };
    return {
      read: (day, offset) => {
        const fd = fdOf(day);
        if (fd === null) return null;
        let buf = Buffer.allocUnsafe(1024);
        let got = 0;
        for (;;) {
          const n = readSync(fd, buf, got, buf.length - got, offset + got);
          this.bytesRead += n;
          got += n;
          const nl = buf.subarray(0, got).indexOf(0x0a);
          if (nl >= 0) return buf.toString("utf8", 0, nl);
          if (n === 0) return null; // a torn last line
          if (got === buf.length) buf = Buffer.concat([buf, Buffer.allocUnsafe(buf.length)]);
        }
      },
      close: () => {
        for (const fd of fds.values()) if (fd !== null) closeSync(fd);
      },
    };
  }

  /** Removes (or with dryRun only lists) the days before `day`, and their side files. */
  async removeBefore(day: string, dryRun: boolean): Promise<Removed[]> {
    const removed: Removed[] = [];
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const name of names.sort()) {
      const d = /^(\d{4}-\d{2}-\d{2})\./.exec(name)?.[1];
      if (d === undefined || d >= day) continue;
      const path = join(this.dir, name);
      const info = await stat(path).catch(() => null);
      if (!info) continue;
      if (!dryRun) {
        const f = this.#open.get(d);
        if (f) {
          this.#open.delete(d);
          await f.handle.close();
        }
        await unlink(path);
      }
      removed.push({ path, bytes: info.size });
    }
    return removed;
  }

  /** The size of each file open for appends. */
  sizes(): Record<string, number> {
    return Object.fromEntries([...this.#open].map(([day, f]) => [day, f.size]));
  }

  async close(): Promise<void> {
    const files = [...this.#open.values()];
    this.#open.clear();
    for (const f of files) await f.handle.close().catch(() => {});
  }
}

/**
 * Whole lines of a file from byte `from` on, with the offset each starts at (an unfinished last
 * line is a torn write, not a line yet). A visit that returns a promise is waited for. Returns
 * the bytes read.
 */
export async function readLinesForward(
  path: string,
  from: number,
  visit: (line: string, offset: number) => Promise<void> | undefined | void,
): Promise<number> {
  const handle = await open(path, "r").catch(() => null);
  if (!handle) return 0;
  let read = 0;
  try {
    const { size } = await handle.stat();
    let pos = from;
    let rest = Buffer.alloc(0);
    while (pos < size) {
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK, size - pos));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, pos);
      if (!bytesRead) break;
      read += bytesRead;
      const buf = Buffer.concat([rest, chunk.subarray(0, bytesRead)]);
      const base = pos - rest.length;
      let start = 0;
      for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a, start)) {
        if (nl > start) {
          const waiting = visit(buf.toString("utf8", start, nl), base + start);
          if (waiting) await waiting;
        }
        start = nl + 1;
      }
      rest = buf.subarray(start);
      pos += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return read;
}

/**
 * A file's whole lines from the newest back, in chunks from its end; `visit` returns false to
 * stop. Returns the bytes read and whether the walk was stopped.
 */
export async function readLinesBackwards(
  path: string,
  visit: (line: string) => boolean,
): Promise<{ read: number; stopped: boolean }> {
  let read = 0;
  const handle = await open(path, "r").catch(() => null);
  if (!handle) return { read, stopped: false };
  try {
    let pos = (await handle.stat()).size;
    let rest: Buffer | null = null;
    while (pos > 0) {
      const size = Math.min(CHUNK, pos);
      pos -= size;
      const chunk = Buffer.allocUnsafe(size);
      await handle.read(chunk, 0, size, pos);
      read += size;
      const buf: Buffer = rest ? Buffer.concat([chunk, rest]) : chunk;
      // Whole lines start after the chunk's first newline; what comes before it may begin in
      // the chunk before. A newline byte never occurs inside a UTF-8 character, so the text
      // after it decodes on its own, in one go.
      const first = pos > 0 ? buf.indexOf(0x0a) : -1;
      if (first < 0 && pos > 0) {
        rest = buf; // a line longer than a chunk: read on
        continue;
      }
      const lines = buf.toString("utf8", first + 1).split("\n");
      for (let i = lines.length - 1; i >= 0; i--) {
        const line = lines[i] as string;
        if (line.length && !visit(line)) return { read, stopped: true };
      }
      rest = first > 0 ? buf.subarray(0, first) : null;
    }
    return { read, stopped: false };
  } finally {
    await handle.close();
  }
}
