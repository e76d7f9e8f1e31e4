import { appendFile, mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";

// data/logs/deliveries.jsonl: a run's key is written before and after its output is posted, so
// a run that is executed again after a crash (same task, same scheduled instant) is not posted
// twice.

const TAIL_BYTES = 2 * 1024 * 1024;

export class DeliveryJournal {
  #posted: Set<string> | null = null;
  #queue: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {}

  async posted(runId: string): Promise<boolean> {
    this.#posted ??= await this.#load();
    return this.#posted.has(runId);
  }

  mark(
    runId: string,
    taskId: string,
    phase: "posting" | "posted",
    channelId: string,
  ): Promise<void> {
    if (phase === "posted") this.#posted?.add(runId);
    const line = `${JSON.stringify({ ts: new Date().toISOString(), runId, taskId, phase, channelId })}\n`;
    const next = this.#queue.then(async () => {
      await mkdir(dirname(this.file), { recursive: true });
      await appendFile(this.file, line);
    });
    this.#queue = next.catch(() => {});
    return next;
  }

  /** Runs posted recently enough to be repeated: the file's tail is plenty. */
  async #load(): Promise<Set<string>> {
    const done = new Set<string>();
    const handle = await open(this.file, "r").catch(() => null);
    if (!handle) return done;
    try {
      const { size } = await handle.stat();
      const length = Math.min(size, TAIL_BYTES);
      const buf = Buffer.alloc(length);
      await handle.read(buf, 0, length, size - length);
      for (const line of buf.toString("utf8").split("\n")) {
        try {
          const entry = JSON.parse(line) as { runId?: string; phase?: string };
          if (entry.phase === "posted" && entry.runId) done.add(entry.runId);
        } catch {
          // a torn or partial line
        }
      }
    } finally {
      await handle.close();
    }
    return done;
  }
}
