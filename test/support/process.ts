import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export const ROOT = join(__dirname, "..", "..");
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

export interface Proc {
  child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `src/main.ts` (or another long-running entry, e.g. sharded.ts) in `cwd` (so no developer's .env is read), with only the given
 * environment on top of PATH. Through tsx, not the dist/ build `npm start` runs, so test files
 * running side by side never share (or rebuild under each other) one dist/; the `npm start`
 * test in main.test.ts covers the build.
 */
export function startMain(cwd: string, env: Record<string, string>, script = "main.ts"): Proc {
  const child = spawn(process.execPath, ["--import", TSX, join(ROOT, "src", script)], {
    cwd,
    env: { PATH: process.env.PATH ?? "", DASHBOARD_PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    for (const l of listeners) l();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    output: () => out,
    exited,
    waitFor(pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(out)) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out waiting for ${pattern}; output so far:\n${out}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as a user would, in `cwd`, with only PATH and the given environment. */
export function cli(
  cwd: string,
  env: Record<string, string>,
  ...args: string[]
): Promise<CliResult> {
  return runScript("cli.ts", cwd, env, ...args);
}

/** Runs one of src/'s entry points to completion. */
export function runScript(
  script: string,
  cwd: string,
  env: Record<string, string>,
  ...args: string[]
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", TSX, join(ROOT, "src", script), ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? "", DASHBOARD_PORT: "0", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => {
      stdout += c;
    });
    child.stderr.on("data", (c) => {
      stderr += c;
    });
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** A port nothing listens on now (for a dashboard a test starts). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** Kills what a test left running (kill -9) and waits for each to exit. */
export async function killAll(procs: Proc[]): Promise<void> {
  for (const p of procs.splice(0)) {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
    await p.exited;
  }
}
