import { appendFile, mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";
import { RunStatusSchema } from "../tasks/model.ts";
import { LOCAL, type Tenant } from "../tasks/tenant.ts";
import { isoTime } from "../time/clock.ts";

// data/logs/executions.jsonl: one line per attempt, the record of what ran. History counters in
// db.json are a summary of it; "what happened in the last 24 h" is read from its tail.

export const TriggerSchema = z.enum(["schedule", "manual", "catch-up", "retry"]);
export type Trigger = z.infer<typeof TriggerSchema>;

export const ExecutionSchema = z.object({
  ts: z.string(),
  guildId: z.string(),
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

/**
 * Tenant + task + scheduled instant: the same scheduled run always has the same key, across
 * restarts.
 */
export function runKey(tenant: Tenant, taskId: string, scheduledForMs: number): string {
  return `${tenant}/${taskId}@${isoTime(scheduledForMs)}`;
}

const CHUNK = 64 * 1024;
const SLACK_MS = 10 * 60_000;

const TRIGGERS = new Set<unknown>(TriggerSchema.options);
const STATUSES = new Set<unknown>(RunStatusSchema.options);

/**
 * ExecutionSchema.safeParse, by hand: the same checks and the same output (known keys only, in
 * the schema's order), without zod's per-object overhead: reading a day of log lines for the
 * briefing checks thousands of them. A test holds the two to the same answers.
 */
export function toExecution(v: unknown, legacyTenant: Tenant = LOCAL): Execution | null {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  const { ts, guildId, taskId, runId, scheduledFor, attempt, trigger, status, durationMs, error } =
    o;
  if (
    typeof ts !== "string" ||
    (guildId !== undefined && typeof guildId !== "string") ||
    typeof taskId !== "string" ||
    typeof runId !== "string" ||
    typeof scheduledFor !== "string" ||
    typeof attempt !== "number" ||
    !Number.isSafeInteger(attempt) ||
    attempt < 0 ||
    !TRIGGERS.has(trigger) ||
    !STATUSES.has(status) ||
    typeof durationMs !== "number" ||
    !Number.isFinite(durationMs) ||
    durationMs < 0 ||
    (error !== null && typeof error !== "string")
  ) {
    return null;
  }
  // A line from before servers were tenants: it belongs to the tenant its records went to.
  const legacy = guildId === undefined;
  return {
    ts,
    guildId: legacy ? legacyTenant : guildId,
    taskId,
    runId: legacy ? `${legacyTenant}/${runId}` : runId,
    scheduledFor,
    attempt,
    trigger: trigger as Trigger,
    status: status as Execution["status"],
    durationMs,
    error: error as string | null,
  };
}

interface Batch {
  lines: string[];
  done: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

export class ExecutionLog {
  /** Lines waiting for the write in flight to finish; they go out together in the next one. */
  #next: Batch | null = null;
  #writing: Promise<void> | null = null;
  /** Settles once every line appended so far is written (or failed). */
  #settled: Promise<void> = Promise.resolve();
  #checkedTail = false;

  /**
   * `legacyTenant`: whose lines those written before servers were tenants are. `onSkipped`
   * hears how many lines a read could not use (torn by a crash, damaged).
   */
  constructor(
    readonly file: string,
    private readonly legacyTenant: Tenant = LOCAL,
    private readonly onSkipped?: (count: number) => void,
  ) {}

  /**
   * Appends in call order, and resolves once the line is written. Lines that arrive while a
   * write is in flight share the next write. A line torn by a crash is closed off before the
   * first one.
   */
  append(entry: Execution): Promise<void> {
    const line = `${JSON.stringify(entry)}\n`;
    let batch = this.#next;
    if (!batch) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const done = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      batch = { lines: [], done, resolve, reject };
      this.#next = batch;
      this.#settled = done.catch(() => {});
    }
    batch.lines.push(line);
    this.#writing ??= this.#drain();
    return batch.done;
  }

  async #drain(): Promise<void> {
    for (let batch = this.#next; batch; batch = this.#next) {
      this.#next = null;
      try {
        await this.#write(batch.lines.join(""));
        batch.resolve();
      } catch (err) {
        batch.reject(err);
      }
    }
    this.#writing = null;
  }

  async #write(text: string): Promise<void> {
    if (!this.#checkedTail) {
      await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
      const prefix = (await this.#endsMidLine()) ? "\n" : "";
      this.#checkedTail = true;
      await appendFile(this.file, prefix + text, { mode: 0o600 });
    } else {
      await appendFile(this.file, text);
    }
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
    await this.#settled;
    const handle = await open(this.file, "r").catch(() => null);
    if (!handle) return;
    const skipped = { count: 0 };
    try {
      let pos = (await handle.stat()).size;
      let rest: Buffer | null = null;
      while (pos > 0) {
        const size = Math.min(CHUNK, pos);
        pos -= size;
        const chunk = Buffer.allocUnsafe(size);
        await handle.read(chunk, 0, size, pos);
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
          if (!this.#visitLine(lines[i] as string, visit, skipped)) return;
        }
        rest = first > 0 ? buf.subarray(0, first) : null;
      }
    } finally {
      await handle.close();
      if (skipped.count) this.onSkipped?.(skipped.count);
    }
  }

  /** A line torn by a crash, or not an attempt, is skipped: counted, never silently. */
  #visitLine(line: string, visit: (e: Execution) => boolean, skipped: { count: number }): boolean {
    if (line.length === 0) return true;
    let parsed: Execution | null = null;
    try {
      parsed = toExecution(JSON.parse(line), this.legacyTenant);
    } catch {
      // not JSON: below
    }
    if (parsed) return visit(parsed);
    skipped.count++;
    return true;
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
  async recent(tenant: Tenant, taskId: string, limit: number): Promise<Execution[]> {
    const found: Execution[] = [];
    await this.readBackwards((e) => {
      if (e.taskId === taskId && e.guildId === tenant) found.push(e);
      return found.length < limit;
    });
    return found.reverse();
  }
}
