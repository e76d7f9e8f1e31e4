import { createHash } from "node:crypto";
import { z } from "zod";
import { DbSchema } from "./db-schema.ts";
import { DurableFile, type StoreFs } from "./durable-file.ts";

// db.json is checked with zod when it is read, unless it is byte for byte the file this program
// last wrote, from its own (checked) state, under the same schema: `db.json.checked` holds a
// SHA-256 of the schema and the file. A file edited, damaged, restored from a backup or written
// under another schema is checked as usual. The check is a large part of a start with many
// tasks; the digest a small one (bench/RESULTS.md has the figures).

let schemaPrint: string | undefined;

/** Of db.json's text, or of its bytes (the same digest, without encoding the text again). */
function digest(content: string | Buffer): string {
  // The schema and the zod that checks it: after an update of either, every file is checked.
  schemaPrint ??= JSON.stringify({ zod: z.core.version, schema: z.toJSONSchema(DbSchema) });
  return createHash("sha256").update(schemaPrint).update("\n").update(content).digest("hex");
}

export class Seal {
  readonly #file: DurableFile;

  constructor(dbFile: string, fs: StoreFs) {
    this.#file = new DurableFile(`${dbFile}.checked`, fs);
  }

  /** Whether `content` is the db.json this program last wrote, under this schema. */
  async matches(content: string | Buffer): Promise<boolean> {
    return this.vouches(await this.saved(), content);
  }

  /** The seal as recorded (null: none), for `vouches`. */
  async saved(): Promise<string | null> {
    return (await this.#file.read().catch(() => null))?.trim() ?? null;
  }

  /** Whether the seal `saved` vouches for `content`, db.json's text or bytes. */
  vouches(saved: string | null, content: string | Buffer): boolean {
    return saved !== null && saved === digest(content);
  }

  /** Forgets the seal: the next start checks db.json in full. */
  async clear(): Promise<void> {
    await this.#file.write("\n").catch(() => {});
  }

  /** Records `text` as written. Best effort: without it the next start just checks the file. */
  async record(text: string): Promise<void> {
    await this.#file.write(`${digest(text)}\n`).catch(() => {});
  }
}
