import { appendFile, mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";
import { LOCAL, type Tenant } from "../tasks/tenant.ts";

// data/logs/deliveries.jsonl: a run's key is written before and after its output is posted, so
// a run that is executed again after a crash (same task, same scheduled instant) is not posted
// twice.

const TAIL_BYTES = 2 * 1024 * 1024;

export class DeliveryJournal {
  #posted: Set<string> | null = null;
  #queue: Promise<void> = Promise.resolve();

  /** `legacyTenant`: whose runs the lines written before servers were tenants are. */
  constructor(
    readonly file: string,
    private readonly legacyTenant: Tenant = LOCAL,
  ) {}

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
    const ts = new Date().toISOString();
    const line = `${JSON.stringify({ ts, runId, taskId, phase, channelId })}\n`;
    const next = this.#queue.then(async () => {
      await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
      await appendFile(this.file, line, { mode: 0o600 });
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
          if (entry.phase !== "posted" || !entry.runId) continue;
          // A run key without a tenant is from before servers were tenants.
          const key = entry.runId.includes("/")
            ? entry.runId
            : `${this.legacyTenant}/${entry.runId}`;
          done.add(key);
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
