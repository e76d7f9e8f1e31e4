import { randomBytes } from "node:crypto";
import * as nodeFs from "node:fs/promises";
import { basename, dirname, join } from "node:path";

// Atomic and durable replacement of one file: a unique temp file, fsync, rename over the target,
// fsync of the folder. A crash at any moment leaves either the old file or the new one, never a
// torn one. (steno, lowdb's writer, does no fsync and reuses one temp name.)

/** The slice of node:fs/promises the store touches; tests pass one that fails on demand. */
export type StoreFs = Pick<
  typeof nodeFs,
  "open" | "readFile" | "rename" | "rm" | "readdir" | "mkdir" | "copyFile" | "writeFile"
>;

const missing = (err: NodeJS.ErrnoException): null => {
  if (err.code === "ENOENT") return null;
  throw err;
};

export class DurableFile {
  #seq = 0;

  constructor(
    readonly path: string,
    private readonly fs: StoreFs = nodeFs,
  ) {}

  async read(): Promise<string | null> {
    return this.fs.readFile(this.path, "utf8").catch(missing);
  }

  /** The file's bytes, or null when there is none. */
  async readBytes(): Promise<Buffer | null> {
    return this.fs.readFile(this.path).catch(missing);
  }

  async write(text: string): Promise<void> {
    const tmp = `${this.path}.${process.pid}-${++this.#seq}-${randomBytes(4).toString("hex")}.tmp`;
    try {
      const handle = await this.fs.open(tmp, "wx", 0o600);
      try {
        await handle.writeFile(text, "utf8");
        await handle.sync();
      } finally {
        await handle.close();
      }
      await this.fs.rename(tmp, this.path);
    } catch (err) {
      await this.fs.rm(tmp, { force: true }).catch(() => {});
      throw err;
    }
    const dir = await this.fs.open(dirname(this.path), "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  /** Temp files left by a process killed mid-write; safe to remove while we hold the lock. */
  async removeStaleTempFiles(): Promise<void> {
    const prefix = `${basename(this.path)}.`;
    const names = await this.fs.readdir(dirname(this.path)).catch(() => [] as string[]);
    for (const name of names) {
      if (name.startsWith(prefix) && name.endsWith(".tmp")) {
        await this.fs.rm(join(dirname(this.path), name), { force: true });
      }
    }
  }
}
