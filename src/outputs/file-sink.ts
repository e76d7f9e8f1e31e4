import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { zonedParts } from "../time/timezone.ts";
import type { OutputSink, RunOutput } from "./sink.ts";

/**
 * data/outputs/<server>/<task-id>/<YYYY-MM-DD>.md, the day in the task's zone, each run's
 * output appended under a line naming the run; or the handler's own saveAs in its server's
 * folder (briefings/<date>.md → briefings/<server>/<date>.md), a file of its own.
 */
export function outputPath(dataDir: string, output: RunOutput): string {
  const tenant = output.task.guildId;
  if (output.saveAs) {
    const [folder = "outputs", ...rest] = output.saveAs.split("/");
    return join(dataDir, folder, tenant, ...rest);
  }
  return dayFilePath(
    dataDir,
    tenant,
    output.task.id,
    dayIn(output.startedAt, output.task.timezone),
  );
}

const dayFilePath = (dataDir: string, tenant: string, taskId: string, day: string) =>
  join(dataDir, "outputs", tenant, taskId, `${day}.md`);

/** Each zone's last second asked about (ms since the epoch / 1000, floored), and its date there. */
const lastDays = new Map<string, { second: number; date: string }>();

/**
 * The date (YYYY-MM-DD) of `at` in `zone`. Asking Intl costs ~20 µs, the largest part of saving
 * an output, and runs due together start within the same second: a zone's date is kept for the
 * second it was asked for. Exact, not a guess: UTC offsets are whole seconds and change only on
 * whole seconds, so every instant of one second has the same date in a zone.
 */
export function dayIn(at: Date, zone: string): string {
  const second = Math.floor(at.getTime() / 1000);
  const last = lastDays.get(zone);
  if (last?.second === second) return last.date;
  const date = zonedParts(second * 1000, zone).date;
  // Zones are few (each task names one of a few hundred); the map stays small.
  lastDays.set(zone, { second, date });
  return date;
}

/** The line before each run's output in a day's file: an HTML comment, unseen when rendered. */
export function runMarker(output: RunOutput): string {
  return `<!-- run ${output.runId} · attempt ${output.attempt} · started ${isoString(output.startedAt)} -->`;
}

/** The second isoString last formatted (epoch ms / 1000, floored), and its text up to the ms. */
let isoSecond = Number.NaN;
let isoPrefix = "";

/**
 * `at.toISOString()`, formatted once per second: within one, only the milliseconds differ
 * (the last four characters, "123Z"), and a thousand runs due together start within one.
 */
export function isoString(at: Date): string {
  const ms = at.getTime();
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    const text = at.toISOString();
    isoSecond = second;
    isoPrefix = text.slice(0, -4);
    return text;
  }
  const milli = ms - second * 1000;
  return `${isoPrefix}${milli < 10 ? "00" : milli < 100 ? "0" : ""}${milli}Z`;
}

const withNewline = (text: string) => (text.endsWith("\n") ? text : `${text}\n`);

/**
 * Files kept open for appends (one per task that ran today); the least recently used is closed
 * past this many, and all of them when the process runs out of file descriptors.
 */
const OPEN_FILES = 1024;
/** Tasks whose day file's path is kept (see dayFileOf). */
const DAY_FILES = 4 * OPEN_FILES;

/**
 * Saves every output whatever happens to the post. A task's runs of one day share a file, so a
 * run costs an append to an open file rather than a new file: creating a file per run cost
 * ~0.2 ms of kernel time each, the largest part of a run's cost. The appends are synchronous
 * (a few microseconds into the page cache) and not fsynced: the log and the store are the
 * durable record; this is the readable one.
 */
export function createFileSink(dataDir: string): OutputSink & { close(): void } {
  const open = new Map<string, number>();
  const closeAll = () => {
    for (const fd of open.values()) closeSync(fd);
    open.clear();
  };
  const fdFor = (path: string): number => {
    let fd = open.get(path);
    if (fd !== undefined) {
      open.delete(path); // most recently used goes last
    } else {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      if (open.size >= OPEN_FILES) {
        const [oldest, oldFd] = open.entries().next().value as [string, number];
        open.delete(oldest);
        closeSync(oldFd);
      }
      try {
        fd = openSync(path, "a", 0o600);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EMFILE") throw err;
        closeAll();
        fd = openSync(path, "a", 0o600);
      }
    }
    open.set(path, fd);
    return fd;
  };
  /** tenant -> task id -> its day file as last worked out: a task's runs mostly share a day. */
  const dayFiles = new Map<string, Map<string, { day: string; path: string }>>();
  let dayFileCount = 0;
  const dayFileOf = (tenant: string, taskId: string, day: string): string => {
    let ofTenant = dayFiles.get(tenant);
    const known = ofTenant?.get(taskId);
    if (known) {
      if (known.day !== day) {
        known.day = day;
        known.path = dayFilePath(dataDir, tenant, taskId, day);
      }
      return known.path;
    }
    // Tasks removed leave theirs behind: forgotten all at once past a bound.
    if (++dayFileCount > DAY_FILES) {
      dayFiles.clear();
      dayFileCount = 1;
      ofTenant = undefined;
    }
    if (!ofTenant) {
      ofTenant = new Map();
      dayFiles.set(tenant, ofTenant);
    }
    const path = dayFilePath(dataDir, tenant, taskId, day);
    ofTenant.set(taskId, { day, path });
    return path;
  };
  return {
    name: "file",
    async publish(output) {
      if (output.saveAs) {
        const path = outputPath(dataDir, output);
        await mkdir(dirname(path), { recursive: true, mode: 0o700 });
        await writeFile(path, withNewline(output.markdown), { mode: 0o600 });
        return;
      }
      const { task } = output;
      const path = dayFileOf(task.guildId, task.id, dayIn(output.startedAt, task.timezone));
      const text = `${runMarker(output)}\n${withNewline(output.markdown)}\n`;
      const fd = fdFor(path);
      // Written as a string, without a Buffer made for it; after a short write (the disk full,
      // a signal) the rest goes on from the byte where it stopped.
      const written = writeSync(fd, text);
      if (written !== Buffer.byteLength(text)) {
        const data = Buffer.from(text);
        for (let done = written; done < data.length; ) done += writeSync(fd, data, done);
      }
    },
    close: closeAll,
  };
}
