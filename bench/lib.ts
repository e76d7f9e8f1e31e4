import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { App } from "../src/app.ts";
import type { ExecutionLog } from "../src/store/execution-log.ts";

// Shared by the orchestrator (bench/index.ts) and the child processes (bench/child.ts).

const HERE = dirname(fileURLToPath(import.meta.url));
/** Built (`npm run bench` runs dist/bench, as `npm start` runs dist/src) or run through tsx. */
const BUILT = import.meta.url.endsWith(".js");

/** Sub-millisecond wall-clock time, on the same scale as Date.now(). */
export const nowMs = (): number => performance.timeOrigin + performance.now();

export interface Dist {
  p50: number;
  p99: number;
  max: number;
  n: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return Number.NaN;
  return sorted[
    Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  ] as number;
}

export function dist(samples: readonly number[]): Dist {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
    n: sorted.length,
  };
}

export function median(values: readonly number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (!sorted.length) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * One distribution over every sample of every round (so p99 and max are those of all samples),
 * and each round's own, kept for --json.
 */
export function pooled(rounds: readonly (readonly number[])[]): Dist & { perRound: Dist[] } {
  return { ...dist(rounds.flat()), perRound: rounds.map((r) => dist(r)) };
}

/**
 * The file system type holding `path` (the longest mount point above it in /proc/mounts), or
 * null where there is no /proc (not Linux).
 */
export async function fsTypeOf(path: string): Promise<string | null> {
  const mounts = await readFile("/proc/mounts", "utf8").catch(() => null);
  if (mounts === null) return null;
  const real = await realpath(path);
  let best: { at: string; type: string } | null = null;
  for (const line of mounts.split("\n")) {
    const [, at, type] = line.split(" ");
    if (!at || !type) continue;
    // Mount points escape spaces as \040.
    const point = at.replace(/\\040/g, " ");
    const under = point === "/" || real === point || real.startsWith(`${point}/`);
    if (under && (!best || point.length >= best.at.length)) best = { at: point, type };
  }
  return best?.type ?? null;
}

export async function tempDir(
  prefix = "mc-bench-",
): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits until the wall clock reaches `at` (ms since the epoch). */
export async function sleepUntil(at: number): Promise<void> {
  for (;;) {
    const left = at - Date.now();
    if (left <= 0) return;
    await sleepMs(Math.min(left, 1000));
  }
}

const RESULT = "@@bench-result ";

/** In a child: hands the result to the parent (one line on stdout), once it is all written. */
export function report(value: unknown): Promise<void> {
  return new Promise((resolve, reject) =>
    process.stdout.write(`${RESULT}${JSON.stringify(value)}\n`, (err) =>
      err ? reject(err) : resolve(),
    ),
  );
}

/**
 * Runs `bench/child <kind> <json args>` in its own Node process, so the memory, heap and GC of
 * one measurement never leak into another, and returns what it reported. The child runs the
 * way this process does: built JavaScript as `npm start` runs, or through tsx.
 */
export function inChild<T>(kind: string, args: unknown, nodeFlags: string[] = []): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        ...nodeFlags,
        ...(BUILT ? [join(HERE, "child.js")] : ["--import", "tsx", join(HERE, "child.ts")]),
        kind,
        JSON.stringify(args),
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const line = out.split("\n").find((l) => l.startsWith(RESULT));
      if (code === 0 && line) resolve(JSON.parse(line.slice(RESULT.length)) as T);
      else
        reject(
          new Error(`bench child ${kind} ${JSON.stringify(args)} exited ${code}: ${err || out}`),
        );
    });
  });
}

/** A small deterministic PRNG (mulberry32), so every run generates the same data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** createApp's config for a bench run: UTC, catch-up on unless a figure needs it off. */
export function benchConfig(dataDir: string, minIntervalSeconds = 60, catchUpMinutes = 60) {
  return {
    DATA_DIR: dataDir,
    DEFAULT_TIMEZONE: "UTC",
    MIN_INTERVAL_SECONDS: minIntervalSeconds,
    CATCH_UP_WINDOW_MINUTES: catchUpMinutes,
  };
}

/** The app's execution log as the file log it is here (the bench runs without DATABASE_URL). */
export const fileLog = (app: App): ExecutionLog => app.executionLog as ExecutionLog;

/** A child started by startChild: it runs until asked to stop, or is killed. */
export interface RunningChild<T> {
  pid: number;
  /** Resolves once the child called `childReady()`; rejects if it exits first. */
  ready: Promise<void>;
  /** Asks it to finish (`untilStopped()` resolves there); resolves with what it reported. */
  stop(): Promise<T>;
  /** kill -9; resolves once it is gone. */
  kill(): Promise<void>;
  /** Sends `message` and resolves with the child's next message. */
  ask(message: object): Promise<unknown>;
}

/**
 * Like inChild, but the child keeps running until told to stop, with an IPC channel: it says
 * when it is ready, and it can be killed in the middle (the PostgreSQL section's bot processes).
 */
export function startChild<T>(kind: string, args: unknown): RunningChild<T> {
  const child = spawn(
    process.execPath,
    [
      ...(BUILT ? [join(HERE, "child.js")] : ["--import", "tsx", join(HERE, "child.ts")]),
      kind,
      JSON.stringify(args),
    ],
    { stdio: ["ignore", "pipe", "pipe", "ipc"] },
  );
  let out = "";
  let err = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  child.stderr?.on("data", (d) => {
    err += d;
  });
  const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
  const ready = new Promise<void>((resolve, reject) => {
    child.on("message", (m) => {
      if ((m as { ready?: boolean }).ready) resolve();
    });
    void closed.then((code) =>
      reject(new Error(`bench child ${kind} exited ${code} before it was ready: ${err || out}`)),
    );
  });
  ready.catch(() => {});
  const result = closed.then((code) => {
    const line = out.split("\n").find((l) => l.startsWith(RESULT));
    if (code === 0 && line) return JSON.parse(line.slice(RESULT.length)) as T;
    throw new Error(`bench child ${kind} exited ${code}: ${err || out}`);
  });
  result.catch(() => {});
  return {
    pid: child.pid as number,
    ready,
    stop() {
      if (child.connected) child.send({ stop: true });
      return result;
    },
    async kill() {
      child.kill("SIGKILL");
      await closed;
    },
    ask(message) {
      return new Promise((resolve) => {
        child.once("message", resolve);
        child.send(message);
      });
    },
  };
}

/** In a child of startChild: tells the parent it is ready. */
export function childReady(): void {
  process.send?.({ ready: true });
}

/** In a child of startChild: resolves when the parent asks it to stop. */
export function untilStopped(): Promise<void> {
  return new Promise((resolve) =>
    process.on("message", (m) => {
      if ((m as { stop?: boolean }).stop) resolve();
    }),
  );
}

/**
 * Runs a TypeScript helper of the bench's (test code: the fake Discord, the embedded
 * PostgreSQL) through tsx in a process of its own; it prints one line of JSON when ready.
 */
export async function startTsxHelper<T>(script: string): Promise<T & { stop(): Promise<void> }> {
  const child = spawn(process.execPath, ["--import", "tsx", script], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  for await (const chunk of child.stdout) {
    out += chunk;
    if (out.includes("\n")) break;
  }
  const info = JSON.parse(out.split("\n")[0] as string) as T;
  return {
    ...info,
    async stop() {
      child.kill("SIGTERM");
      await once(child, "close");
    },
  };
}
