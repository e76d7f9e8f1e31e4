import type { FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { type Change, isChange } from "./changes.ts";
import type { StoreFs } from "./durable-file.ts";

// db.journal: the changes made since db.json was last written, one line per write:
// `{"seq":N,"changes":[...]}`. Appending a line and fsyncing it costs a fraction of a
// millisecond, where rewriting db.json costs the whole file; the journal is folded into db.json
// (compacted) when it grows past the file's size, on every start and on close.

export interface JournalLine {
  seq: number;
  /** The db.json this line was written on (its journalBase); absent in older journals. */
  base?: string;
  changes: Change[];
}

export class JournalCorruptError extends Error {}

export class JournalFile {
  /** Bytes known to be written and synced: the end of the last whole line. */
  #size = 0;
  /**
   * After a failed append that could not be cut back off, the file's tail is unknown and no
   * line may follow it; writes must go to db.json until `clear` succeeds.
   */
  #tainted = false;
  /** Whether the file's directory entry is known to be on disk. */
  #entrySynced = false;

  constructor(
    readonly path: string,
    private readonly fs: StoreFs,
  ) {}

  get size(): number {
    return this.#size;
  }

  get usable(): boolean {
    return !this.#tainted;
  }

  /** The lines after `afterSeq`, in order. A torn last line (a write cut off) is ignored. */
  async read(afterSeq: number): Promise<{ lines: JournalLine[]; bytes: number }> {
    let text: string;
    try {
      text = await this.fs.readFile(this.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return { lines: [], bytes: 0 };
      throw err;
    }
    const rows = text.split("\n");
    const lines: JournalLine[] = [];
    for (const [i, row] of rows.entries()) {
      if (i === rows.length - 1) break; // after the last newline: empty, or a torn write
      const line = parseLine(row);
      if (!line) throw new JournalCorruptError(`line ${i + 1} is not a journal entry`);
      if (line.seq > afterSeq) lines.push(line);
    }
    this.#size = Buffer.byteLength(text);
    return { lines, bytes: this.#size };
  }

  /**
   * Appends one line and resolves once it is on disk. The file is opened per append (a few
   * hundredths of a millisecond) so no handle outlives a store that is dropped without close.
   */
  async append(line: JournalLine): Promise<void> {
    // Encoded straight into the buffer, newline after: `${json}\n` would copy the whole line
    // once more (a history write of 10,000 tasks is a line of megabytes, garbage until the next
    // collection).
    const json = JSON.stringify(line);
    const bytes = Buffer.allocUnsafe(Buffer.byteLength(json) + 1);
    bytes[bytes.write(json)] = 0x0a;
    await this.#with(async (handle) => {
      try {
        for (let done = 0; done < bytes.length; ) {
          done += (await handle.write(bytes, done)).bytesWritten;
        }
        await handle.sync();
        this.#size += bytes.length;
      } catch (err) {
        // Cut the partial line off, so the next line does not follow garbage.
        await handle.truncate(this.#size).catch(() => {
          this.#tainted = true;
        });
        throw err;
      }
    });
  }

  /** Empties the journal once db.json holds everything in it. */
  async clear(): Promise<void> {
    await this.#with(async (handle) => {
      await handle.truncate(0);
      await handle.sync();
    });
    this.#size = 0;
    this.#tainted = false;
  }

  async #with(use: (handle: FileHandle) => Promise<void>): Promise<void> {
    const handle = await this.fs.open(this.path, "a", 0o600);
    try {
      await use(handle);
    } finally {
      await handle.close();
    }
    if (this.#entrySynced) return;
    // The file may have just been created: its directory entry must be durable too.
    const dir = await this.fs.open(dirname(this.path), "r");
    await dir.sync().finally(() => dir.close());
    this.#entrySynced = true;
  }
}

function parseLine(row: string): JournalLine | null {
  try {
    const line = JSON.parse(row);
    const ok =
      Number.isInteger(line?.seq) && Array.isArray(line.changes) && line.changes.every(isChange);
    return ok ? line : null;
  } catch {
    return null;
  }
}
