import { dirname } from "node:path";
import type { StoreFs } from "../../src/store/durable-file.ts";

// A file system, in memory, that forgets what a power cut would: a file keeps only what was
// fsynced, and a folder's entries (creates, renames, deletes) only what was there when the
// folder was fsynced. `crashAt` makes the Nth operation throw, as the process dying there; then
// `afterCrash()` is the disk a restart finds.

export class Crash extends Error {
  override name = "Crash";
}

interface Inode {
  data: Buffer;
  /** What reached the disk at the last fsync; null: never. */
  synced: Buffer | null;
}

const enoent = (path: string) =>
  Object.assign(new Error(`ENOENT: no such file: ${path}`), { code: "ENOENT" });

export class CrashFs {
  readonly #inodes = new Map<number, Inode>();
  #next = 1;
  /** path -> inode, as the running process sees it. */
  readonly #entries = new Map<string, number>();
  /** path -> inode, as of the last fsync of its folder. */
  readonly #durable = new Map<string, number>();
  ops = 0;
  crashAt = Number.POSITIVE_INFINITY;

  #tick(): void {
    if (++this.ops >= this.crashAt) throw new Crash(`crash at operation ${this.ops}`);
  }

  #inode(path: string): Inode {
    const id = this.#entries.get(path);
    const inode = id === undefined ? undefined : this.#inodes.get(id);
    if (!inode) throw enoent(path);
    return inode;
  }

  #create(path: string): Inode {
    const id = this.#next++;
    const inode: Inode = { data: Buffer.alloc(0), synced: null };
    this.#inodes.set(id, inode);
    this.#entries.set(path, id);
    return inode;
  }

  /** The disk after a crash: synced file contents under the folder entries last synced. */
  afterCrash(): CrashFs {
    const disk = new CrashFs();
    for (const [path, id] of this.#durable) {
      const inode = disk.#create(path);
      inode.data = Buffer.from(this.#inodes.get(id)?.synced ?? Buffer.alloc(0));
      inode.synced = Buffer.from(inode.data);
      disk.#durable.set(path, disk.#entries.get(path) as number);
    }
    return disk;
  }

  readonly fs: StoreFs = {
    mkdir: (async () => undefined) as never,
    readdir: (async (dir: string) => {
      this.#tick();
      return [...this.#entries.keys()]
        .filter((p) => dirname(p) === dir)
        .map((p) => p.slice(dir.length + 1));
    }) as never,
    readFile: (async (path: string, encoding?: BufferEncoding) => {
      this.#tick();
      const { data } = this.#inode(path);
      return encoding ? data.toString(encoding) : Buffer.from(data);
    }) as never,
    writeFile: (async (path: string, text: string) => {
      this.#tick();
      const inode = this.#entries.has(path) ? this.#inode(path) : this.#create(path);
      inode.data = Buffer.from(text);
    }) as never,
    copyFile: (async (from: string, to: string) => {
      this.#tick();
      const data = this.#inode(from).data;
      const inode = this.#entries.has(to) ? this.#inode(to) : this.#create(to);
      inode.data = Buffer.from(data);
    }) as never,
    rm: (async (path: string, opts?: { force?: boolean }) => {
      this.#tick();
      if (!this.#entries.delete(path) && !opts?.force) throw enoent(path);
    }) as never,
    rename: (async (from: string, to: string) => {
      this.#tick();
      const id = this.#entries.get(from);
      if (id === undefined) throw enoent(from);
      this.#entries.delete(from);
      this.#entries.set(to, id);
    }) as never,
    open: (async (path: string, flags: string) => {
      this.#tick();
      if (flags === "r" && !this.#entries.has(path)) {
        // A folder: its fsync makes its entries durable.
        return {
          sync: async () => {
            this.#tick();
            for (const p of [...this.#durable.keys()]) {
              if (dirname(p) === path && !this.#entries.has(p)) this.#durable.delete(p);
            }
            for (const [p, id] of this.#entries) if (dirname(p) === path) this.#durable.set(p, id);
          },
          close: async () => {},
        };
      }
      if (flags === "wx" && this.#entries.has(path)) {
        throw Object.assign(new Error(`EEXIST: ${path}`), { code: "EEXIST" });
      }
      const inode = this.#entries.has(path) ? this.#inode(path) : this.#create(path);
      if (flags === "w") {
        // O_TRUNC: the truncation is metadata, which a journaling file system commits soon
        // after, data or not: an in-place rewrite cut off by a crash leaves an empty file.
        inode.data = Buffer.alloc(0);
        inode.synced = Buffer.alloc(0);
      }
      return {
        writeFile: async (text: string) => {
          this.#tick();
          inode.data = Buffer.from(text);
        },
        write: async (bytes: Buffer, offset: number) => {
          this.#tick();
          inode.data = Buffer.concat([inode.data, bytes.subarray(offset)]);
          return { bytesWritten: bytes.length - offset };
        },
        truncate: async (len: number) => {
          this.#tick();
          inode.data = inode.data.subarray(0, len);
        },
        sync: async () => {
          this.#tick();
          inode.synced = Buffer.from(inode.data);
        },
        close: async () => {},
      };
    }) as never,
  };
}
