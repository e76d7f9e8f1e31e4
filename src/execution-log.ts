import { appendFile, mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";
import { RunStatusSchema } from "./model.ts";

// data/logs/executions.jsonl: one line per attempt, the record of what ran. History counters in
// db.json are a summary of it; "what happened in the last 24 h" is read from its tail.

export const TriggerSchema = z.enum(["schedule", "manual", "catch-up", "retry"]);
export type Trigger = z.infer<typeof TriggerSchema>;

export const ExecutionSchema = z.object({
  ts: z.string(),
  taskId: z.string(),
  runId: z.string(),
  scheduledFor: z.string(),
  attempt: z.number().int().min(0),
  trigger: TriggerSchema,
  status: RunStatusSchema,
  durationMs: z.number().min(0),
  error: z.string().nullable(),
});
export type Execution = z.infer<typeof ExecutionSchema>;

/** Task + scheduled instant: the same scheduled run always has the same key, across restarts. */
export function runKey(taskId: string, scheduledForMs: number): string {
  return `${taskId}@${new Date(scheduledForMs).toISOString()}`;
}

const CHUNK = 64 * 1024;
const SLACK_MS = 10 * 60_000;

export class ExecutionLog {
  #queue: Promise<void> = Promise.resolve();
  #checkedTail = false;

  constructor(readonly file: string) {}

  /** Appends in call order. A line torn by a crash is closed off before the next one. */
  append(entry: Execution): Promise<void> {
    const line = `${JSON.stringify(entry)}\n`;
    const next = this.#queue.then(async () => {
      if (!this.#checkedTail) {
        await mkdir(dirname(this.file), { recursive: true });
        const prefix = (await this.#endsMidLine()) ? "\n" : "";
        this.#checkedTail = true;
        await appendFile(this.file, prefix + line);
      } else {
        await appendFile(this.file, line);
      }
    });
    this.#queue = next.catch(() => {});
    return next;
  }

  async #endsMidLine(): Promise<boolean> {
    const handle = await open(this.file, "r").catch(() => null);
    if (!handle) return false;
    try {
      const { size } = await handle.stat();
      if (size === 0) return false;
      const buf = Buffer.alloc(1);
      await handle.read(buf, 0, 1, size - 1);
      return buf[0] !== 0x0a;
    } finally {
      await handle.close();
    }
  }

  /**
   * Walks the log from the newest line back; `visit` returns false to stop. Reads the file in
   * chunks from its end, so looking at the last day costs the same whatever the log's age.
   */
  async readBackwards(visit: (e: Execution) => boolean): Promise<void> {
    await this.#queue;
    const handle = await open(this.file, "r").catch(() => null);
    if (!handle) return;
    try {
      let pos = (await handle.stat()).size;
      let rest = Buffer.alloc(0);
      while (pos > 0) {
        const size = Math.min(CHUNK, pos);
        pos -= size;
        const chunk = Buffer.alloc(size);
        await handle.read(chunk, 0, size, pos);
        let buf = Buffer.concat([chunk, rest]);
        let end = buf.length;
        for (let i = buf.length - 1; i >= 0; i--) {
          if (buf[i] !== 0x0a) continue;
          if (!this.#visitLine(buf.subarray(i + 1, end), visit)) return;
          end = i;
        }
        buf = buf.subarray(0, end);
        rest = Buffer.from(buf);
      }
      this.#visitLine(rest, visit);
    } finally {
      await handle.close();
    }
  }

  #visitLine(bytes: Buffer, visit: (e: Execution) => boolean): boolean {
    if (bytes.length === 0) return true;
    let parsed: ReturnType<typeof ExecutionSchema.safeParse>;
    try {
      parsed = ExecutionSchema.safeParse(JSON.parse(bytes.toString("utf8")));
    } catch {
      return true; // a line torn by a crash: skip it
    }
    return parsed.success ? visit(parsed.data) : true;
  }

  /** Entries with ts >= sinceMs, oldest first. */
  async since(sinceMs: number): Promise<Execution[]> {
    const found: Execution[] = [];
    await this.readBackwards((e) => {
      const ts = Date.parse(e.ts);
      // Lines are appended in time order, give or take a clock adjustment: read a little past.
      if (ts < sinceMs - SLACK_MS) return false;
      if (ts >= sinceMs) found.push(e);
      return true;
    });
    return found.reverse();
  }

  /** The newest `limit` entries of one task, oldest first. */
  async recent(taskId: string, limit: number): Promise<Execution[]> {
    const found: Execution[] = [];
    await this.readBackwards((e) => {
      if (e.taskId === taskId) found.push(e);
      return found.length < limit;
    });
    return found.reverse();
  }
}
