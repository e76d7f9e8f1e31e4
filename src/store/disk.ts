import { join, relative } from "node:path";
import { applyChanges } from "./changes.ts";
import type { Db } from "./db-schema.ts";
import { DurableFile, type StoreFs } from "./durable-file.ts";
import { JournalFile } from "./journal-file.ts";
import { Seal } from "./seal.ts";

// The store's files in a data dir — db.json, db.journal, db.json.checked — and how they are
// read and written together.

/** db.json with its journal applied, parsed but not validated; null when there is no db.json. */
export async function readDisk({ durable, journal }: Files) {
  const text = await durable.read();
  if (!text) return null;
  const raw = JSON.parse(text);
  return { raw, seq: (await replayJournal(raw, journal)).seq };
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

/** Applies the journal's lines newer than the snapshot to `raw`; the last seq applied. */
export async function replayJournal(raw: Record<string, unknown>, journal: JournalFile) {
  const after = typeof raw.journalSeq === "number" ? raw.journalSeq : 0;
  delete raw.journalSeq;
  const { lines, bytes } = await journal.read(after);
  for (const line of lines) applyChanges(raw, line.changes);
  return { seq: lines.at(-1)?.seq ?? after, bytes };
}

// Compact, not pretty-printed: the indented form is much bigger and slower to build and write,
// on every durable change (bench/RESULTS.md). `jq . data/db.json` shows it indented.
// `journalSeq`: the last journal line this file already holds; replay starts after it.
export function serialize(db: Db, journalSeq: number): string {
  return `${JSON.stringify({ ...db, journalSeq })}\n`;
}

export function shown(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith("..") ? rel : file;
}
