import { isDeepStrictEqual } from "node:util";
import { MissionControlError } from "../../shared/errors.ts";
import type { Logger } from "../../shared/logger.ts";
import type { Task } from "../../tasks/model.ts";
import { itemKey } from "../changes.ts";
import { openStore, type Store } from "../store.ts";
import { openPgStore } from "./open.ts";
import { LISTS, type ListName } from "./pg-schema.ts";

// `npm run migrate -- --to postgres` (or `--to file`): every record of one backend copied into
// the other, then read back and checked. A record already there is replaced by the source's,
// so running it twice changes nothing more. Both sides are locked meanwhile: the data folder,
// and the database's bot lock, so no bot is changing either.

type Item = { readonly id: string | number; readonly guildId?: string };

export interface MigrationReport {
  to: "postgres" | "file";
  from: string;
  target: string;
  /** Per list: records copied, and records the target holds now. */
  counts: Record<ListName, { copied: number; held: number }>;
}

export class MigrationCheckError extends MissionControlError {
  override name = "MigrationCheckError";
}

export async function migrate(opts: {
  to: "postgres" | "file";
  dataDir: string;
  url: string;
  log: Logger;
}): Promise<MigrationReport> {
  const openFile = () => openStore({ dataDir: opts.dataDir, lockHolder: "cli" });
  const openPg = () =>
    openPgStore({ url: opts.url, dataDir: opts.dataDir, log: opts.log, lockDir: false });
  const file = await openFile();
  let source: Store = file;
  let target: Store = file;
  try {
    const pg = await openPg();
    [source, target] = opts.to === "postgres" ? [file, pg] : [pg, file];
    if (source.created)
      throw new MissionControlError(
        `${source.file} held no Mission Control data: nothing to copy. Check ${opts.to === "postgres" ? "DATA_DIR" : "DATABASE_URL"}.`,
      );
    await copyRecords(source, target);
  } finally {
    if (source !== target) await source.close();
    await target.close();
  }
  // Read back from where it was written, and compared with what was read from the source.
  const file2 = opts.to === "file" ? await openFile() : null;
  const written = file2 ?? (await openPg());
  try {
    return {
      to: opts.to,
      from: source.file,
      target: written.file,
      counts: check(source, written),
    };
  } finally {
    await written.close();
  }
}

/** Puts every record of `from` into `to`, in one change. */
async function copyRecords(from: Store, to: Store): Promise<void> {
  await to.update((db) => {
    for (const list of LISTS) {
      const target = db[list] as Item[];
      const at = new Map(target.map((item, i) => [itemKey(item), i]));
      for (const item of from.data[list] as Item[]) {
        if (list === "tasks") {
          to.putTask(item as Task);
          continue;
        }
        const i = at.get(itemKey(item));
        if (i === undefined) at.set(itemKey(item), target.push(item) - 1);
        else target[i] = item;
      }
    }
  });
}

/** Every record of `from` is in `to`, the same; the counts per list. */
function check(from: Store, to: Store): MigrationReport["counts"] {
  const counts = {} as MigrationReport["counts"];
  for (const list of LISTS) {
    const held = new Map((to.data[list] as Item[]).map((item) => [itemKey(item), item]));
    const source = from.data[list] as Item[];
    for (const item of source) {
      const copy = held.get(itemKey(item));
      if (!isDeepStrictEqual(copy, item))
        throw new MigrationCheckError(
          `the copy of ${list} "${itemKey(item)}" differs from its source; nothing is lost (the source is unchanged), run the migration again`,
        );
    }
    counts[list] = { copied: source.length, held: held.size };
  }
  return counts;
}
