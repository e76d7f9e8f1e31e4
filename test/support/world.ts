import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterEach } from "vitest";
import { z } from "zod";
import testHandler from "../../handlers/test.ts";
import { type App, type AppOptions, createApp } from "../../src/app.ts";
import { createLogger, type Logger } from "../../src/shared/logger.ts";
import type { Execution } from "../../src/store/execution.ts";
import { defineHandler, type Handler } from "../../src/tasks/handler.ts";
import { FakeClock } from "./fake-clock.ts";

export async function tempDir(
  prefix = "mc-test-",
): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A logger whose JSON lines a test can read back. */
export function memoryLogger(level = "debug"): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: createLogger(level, stream), lines };
}

/**
 * A handler whose behaviour a test scripts: each call takes the next step (the last repeats).
 * `startedAt` holds each call's clock time, relative to the first call.
 */
export function scriptedHandler(
  name: string,
  steps: Array<(ctx: Parameters<Handler["run"]>[0]) => unknown>,
): Handler & { calls: Parameters<Handler["run"]>[0][]; startedAt: number[] } {
  const calls: Parameters<Handler["run"]>[0][] = [];
  const startedAt: number[] = [];
  let origin: number | undefined;
  const handler = defineHandler({
    name,
    description: `scripted ${name}`,
    options: z.object({}).passthrough(),
    async run(ctx) {
      calls.push(ctx);
      origin ??= ctx.clock.now();
      startedAt.push(ctx.clock.now() - origin);
      const step = steps[Math.min(calls.length - 1, steps.length - 1)];
      return (await step?.(ctx)) as string | undefined;
    },
  });
  return Object.assign(handler, { calls, startedAt });
}

export interface World {
  app: App;
  clock: FakeClock;
  dataDir: string;
  lines: Record<string, unknown>[];
  /** Closes this app and opens a new one on the same data dir (a restart). */
  restart(opts?: Partial<WorldOptions>): Promise<World>;
  close(): Promise<void>;
}

export interface WorldOptions extends Partial<Omit<AppOptions, "config" | "log" | "clock">> {
  start: string | number;
  clock?: FakeClock;
  dataDir?: string;
  config?: Partial<AppOptions["config"]>;
  autoStart?: boolean;
}

/** A whole Mission Control on a temp data dir, a fake clock and a readable log. */
export async function makeWorld(opts: WorldOptions): Promise<World> {
  const dir = opts.dataDir ? null : await tempDir();
  const dataDir = opts.dataDir ?? (dir?.path as string);
  const clock = opts.clock ?? new FakeClock(opts.start);
  const { log, lines } = memoryLogger();
  const app = await createApp({
    config: {
      DATA_DIR: dataDir,
      DEFAULT_TIMEZONE: "UTC",
      MIN_INTERVAL_SECONDS: 60,
      CATCH_UP_WINDOW_MINUTES: 60,
      ...opts.config,
    },
    log,
    clock,
    handlers: opts.handlers ?? [testHandler],
    sinks: opts.sinks,
    random: opts.random ?? (() => 0.5),
    fs: opts.fs,
    channelGuild: opts.channelGuild,
  });
  if (opts.autoStart !== false) await app.scheduler.start();
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await app.close(1000);
  };
  return {
    app,
    clock,
    dataDir,
    lines,
    close: async () => {
      await close();
      await dir?.remove();
    },
    async restart(more = {}) {
      await close();
      return makeWorld({ ...opts, ...more, dataDir, clock: more.clock ?? clock });
    },
  };
}

/**
 * Moves the world's clock to `target`, letting every run the scheduler starts on the way finish
 * before time moves on (for handlers that do not wait on the fake clock themselves).
 */
export async function runUntil(w: World, target: string | number): Promise<void> {
  const end = typeof target === "number" ? target : Date.parse(target);
  for (;;) {
    await w.app.scheduler.idle();
    const at = w.clock.nextAt();
    if (at === undefined || at > end) break;
    await w.clock.advanceTo(at);
  }
  await w.clock.advanceTo(end);
  await w.app.scheduler.idle();
}

/** The execution log's lines as they are on disk, oldest day first, without the pointers. */
export async function readLogLines(dataDir: string): Promise<Execution[]> {
  const dir = join(dataDir, "logs", "executions");
  const days = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith(".jsonl"));
  const lines: Execution[] = [];
  for (const day of days.sort()) {
    for (const l of (await readFile(join(dir, day), "utf8")).split("\n")) {
      if (!l) continue;
      const { prev: _, ...e } = JSON.parse(l);
      lines.push(e);
    }
  }
  return lines;
}

export function readExecutions(w: World): Promise<Execution[]> {
  return readLogLines(w.dataDir);
}

/** Closes the worlds a test keeps, after each test: `const keep = closedAfterEach();`. */
export function closedAfterEach(): (w: World) => World {
  let worlds: World[] = [];
  afterEach(async () => {
    for (const w of worlds.reverse()) await w.close();
    worlds = [];
  });
  return (w) => {
    worlds.push(w);
    return w;
  };
}
