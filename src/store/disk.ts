import { randomBytes } from "node:crypto";
import { join, relative } from "node:path";
import { applyChanges } from "./changes.ts";
import type { Db } from "./db-schema.ts";
import { DurableFile, type StoreFs } from "./durable-file.ts";
import { JournalCorruptError, JournalFile } from "./journal-file.ts";
import { Seal } from "./seal.ts";

// The store's files in a data dir — db.json, db.journal, db.json.checked — and how they are
// read and written together.

/** db.json with its journal applied, parsed but not validated; null when there is no db.json. */
export async function readDisk({ durable, journal }: Files) {
  const text = await durable.read();
  if (!text) return null;
  const raw = JSON.parse(text);
  const { seq, base } = await replayJournal(raw, journal);
  return { raw, seq, base };
}

export interface Files {
  durable: DurableFile;
  journal: JournalFile;
  seal: Seal;
}

export function files(dataDir: string, fs: StoreFs): Files {
  const file = join(dataDir, "db.json");
  return {
    durable: new DurableFile(file, fs),
    journal: new JournalFile(join(dataDir, "db.journal"), fs),
    seal: new Seal(file, fs),
  };
}

/**
 * Writes db.json; `valid` says the state passed validation, and only then is it sealed (a
 * sealed file is trusted at the next start without a check).
 */
export async function writeSnapshot(
  { durable, seal }: Files,
  text: string,
  valid: boolean,
): Promise<void> {
  if (!valid) await seal.clear();
  await durable.write(text);
  if (valid) await seal.record(text);
}

/**
 * Applies the journal's lines newer than the snapshot to `raw`: the last seq applied, and the
 * snapshot's base. A line written on another db.json (a backup restored over a newer one) is
 * refused, never replayed onto it.
 */
export async function replayJournal(raw: Record<string, unknown>, journal: JournalFile) {
  const after = typeof raw.journalSeq === "number" ? raw.journalSeq : 0;
  const base = typeof raw.journalBase === "string" ? raw.journalBase : undefined;
  delete raw.journalSeq;
  delete raw.journalBase;
  const { lines, bytes } = await journal.read(after);
  const foreign = lines.find((l) => l.base !== undefined && base !== undefined && l.base !== base);
  if (foreign) {
    throw new JournalCorruptError(
      `its line ${foreign.seq} was written on another db.json (was a backup restored?); move it away to start from db.json alone`,
    );
  }
  for (const line of lines) applyChanges(raw, line.changes);
  return { seq: lines.at(-1)?.seq ?? after, bytes, base };
}

/** A new snapshot's base: the journal lines written on it carry it. */
export const newBase = (): string => randomBytes(6).toString("hex");

// Compact, not pretty-printed: the indented form is much bigger and slower to build and write,
// on every durable change (bench/RESULTS.md). `jq . data/db.json` shows it indented.
// `journalSeq`: the last journal line this file already holds; replay starts after it.
// `journalBase`: this snapshot's id, which the journal lines written on it carry.
export function serialize(db: Db, journalSeq: number, journalBase: string): string {
  return `${JSON.stringify({ ...db, journalSeq, journalBase })}\n`;
}

export function shown(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith("..") ? rel : file;
}
