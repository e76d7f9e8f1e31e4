import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Tenant } from "../tasks/tenant.ts";

// The briefings a server's daily briefing saved (briefings/<server>/<date>.md): the archive
// the dashboard lists and shows. Only names that are dates are read, so a request cannot
// reach another file.

const DAY_FILE = /^(\d{4}-\d{2}-\d{2})\.md$/;
export const isBriefingDate = (date: string) => /^\d{4}-\d{2}-\d{2}$/.test(date);

export class BriefingArchive {
  constructor(private readonly dataDir: string) {}

  /** The dates with a briefing, newest first. */
  async dates(tenant: Tenant): Promise<string[]> {
    const names = await readdir(join(this.dataDir, "briefings", tenant)).catch(() => []);
    return names
      .flatMap((n) => DAY_FILE.exec(n)?.[1] ?? [])
      .sort()
      .reverse();
  }

  /** The briefing of that date, or null when there is none. */
  async read(tenant: Tenant, date: string): Promise<string | null> {
    if (!isBriefingDate(date)) return null;
    return readFile(join(this.dataDir, "briefings", tenant, `${date}.md`), "utf8").catch(
      () => null,
    );
  }
}
