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
  const day = zonedParts(output.startedAt.getTime(), output.task.timezone).date;
  return join(dataDir, "outputs", tenant, output.task.id, `${day}.md`);
}

/** The line before each run's output in a day's file: an HTML comment, unseen when rendered. */
export function runMarker(output: RunOutput): string {
  return `<!-- run ${output.runId} · attempt ${output.attempt} · started ${output.startedAt.toISOString()} -->`;
}

const withNewline = (text: string) => (text.endsWith("\n") ? text : `${text}\n`);

/**
 * Files kept open for appends (one per task that ran today); the least recently used is closed
 * past this many, and all of them when the process runs out of file descriptors.
 */
const OPEN_FILES = 1024;

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
  return {
    name: "file",
    async publish(output) {
      const path = outputPath(dataDir, output);
      if (output.saveAs) {
        await mkdir(dirname(path), { recursive: true, mode: 0o700 });
        await writeFile(path, withNewline(output.markdown), { mode: 0o600 });
        return;
      }
      const data = Buffer.from(`${runMarker(output)}\n${withNewline(output.markdown)}\n`);
      const fd = fdFor(path);
      for (let done = 0; done < data.length; ) done += writeSync(fd, data, done);
    },
    close: closeAll,
  };
}
