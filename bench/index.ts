// `npm run bench [-- --json FILE] [-- --only lag,startup,...]`: Mission Control's performance
// figures on this machine, as a markdown table (stdout) and optionally as JSON. Every figure is
// the median of several rounds; comparisons are ratios of figures measured in this same run.
// Each measurement runs in a child process of its own (bench/child.ts). See bench/RESULTS.md.

import { rm, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import type { BriefingArgs, BriefingResult } from "./briefing.ts";
import { distinctPatterns, mixedTasks, writeDataDir } from "./fixtures.ts";
import type { Impl, LagArgs, LagResult } from "./lag.ts";
import { dist, inChild, median, pooled, tempDir } from "./lib.ts";
import type { MutationArgs, MutationResult, Op } from "./mutation.ts";
import { type ServersResult, writeServersDir } from "./servers.ts";
import type { SplitArgs, SplitResult } from "./split.ts";
import type { StartupArgs, StartupResult } from "./startup.ts";
import type { SustainedArgs, SustainedResult } from "./sustained.ts";

const SECTIONS = [
  "lag",
  "startup",
  "mutation",
  "sustained",
  "briefing",
  "split",
  "servers",
] as const;
type Section = (typeof SECTIONS)[number];

interface Row {
  figure: string;
  p50?: number;
  p99?: number;
  max?: number;
  /** A single figure (with its unit), or a count. */
  value?: string;
  target?: string;
  met?: boolean;
  compare?: string;
}

function parseArgs(argv: string[]): { json: string | null; only: Set<Section> } {
  let json: string | null = null;
  let only = new Set<Section>(SECTIONS);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--json") json = argv[++i] ?? null;
    else if (a === "--only") {
      only = new Set(
        (argv[++i] ?? "")
          .split(",")
          .filter((s): s is Section => (SECTIONS as readonly string[]).includes(s)),
      );
    } else if (a === "--help" || a === "-h") {
      process.stdout.write(
        `usage: npm run bench -- [--json FILE] [--only ${SECTIONS.join(",")}]\n`,
      );
      process.exit(0);
    } else throw new Error(`unknown argument: ${a}`);
  }
  if (!json && argv.includes("--json")) throw new Error("--json needs a file name");
  return { json, only };
}

const rows: Row[] = [];
const raw: Record<string, unknown> = {};
const progress = (line: string) => process.stderr.write(`${line}\n`);
const fmt = (n: number | undefined, digits = 1) =>
  n === undefined || Number.isNaN(n)
    ? ""
    : n >= 100
      ? Math.round(n).toLocaleString("en-US")
      : n.toFixed(digits);
const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(a / b >= 10 ? 0 : 1)}×` : "—");
const count = (n: number) => n.toLocaleString("en-US");

// ---- fire lag

const IMPLS: Impl[] = ["ours", "croner", "node-cron", "setTimeout"];
const LAG_ROUNDS = 5;
const LAG_TARGETS: Record<number, { p99: number; noDrops: boolean }> = {
  1000: { p99: 25, noDrops: false },
  10000: { p99: 60, noDrops: true },
};

async function lag(): Promise<void> {
  const results: LagResult[] = [];
  for (const impl of IMPLS) {
    for (const sizes of [[1, 100, 1000], [10000]]) {
      progress(`fire lag: ${impl}, ${sizes.join("/")} tasks`);
      const args: LagArgs = { impl, sizes, rounds: LAG_ROUNDS, period: 1 };
      results.push(...(await inChild<LagResult[]>("lag", args)));
    }
  }
  raw.lag = results.map(({ rounds, ...r }) => ({ ...r, perRound: pooled(rounds).perRound }));
  for (const n of [1, 100, 1000, 10000]) {
    const of = (impl: Impl) => results.find((r) => r.impl === impl && r.n === n) as LagResult;
    const ours = pooled(of("ours").rounds);
    for (const impl of IMPLS) {
      const r = of(impl);
      const d = pooled(r.rounds);
      const row: Row = {
        figure: `fire lag, ${count(n)} due in one second: ${impl === "ours" ? "**ours** (full path)" : impl}`,
        p50: d.p50,
        p99: d.p99,
        max: d.max,
        value: `${count(r.dropped)} of ${count(n * r.rounds.length)} dropped`,
      };
      const target = LAG_TARGETS[n];
      if (impl === "ours") {
        if (target) {
          row.target = `p99 ≤ ${target.p99} ms${target.noDrops ? ", none dropped" : ""}`;
          row.met = d.p99 <= target.p99 && (!target.noDrops || r.dropped === 0);
        }
      } else {
        row.compare = `ours ÷ this, p99: ${ratio(ours.p99, d.p99)}`;
      }
      rows.push(row);
    }
  }
}

// ---- start-up and memory

const STARTUP_ROUNDS = 3;

async function startup(): Promise<void> {
  const out: Record<
    string,
    { ours: StartupResult[]; croner: StartupResult[]; edited: StartupResult[]; patterns: number }
  > = {};
  for (const n of [0, 1000, 10000]) {
    const dir = await tempDir();
    const tasks = mixedTasks(n, Date.now());
    await writeDataDir(dir.path, { tasks });
    const entry = {
      ours: [] as StartupResult[],
      croner: [] as StartupResult[],
      edited: [] as StartupResult[],
      patterns: distinctPatterns(tasks),
    };
    for (let r = 0; r < STARTUP_ROUNDS; r++) {
      progress(`start-up: ${n} tasks, round ${r + 1}`);
      entry.ours.push(
        await inChild<StartupResult>("startup", {
          impl: "ours",
          dir: dir.path,
        } satisfies StartupArgs),
      );
      if (n)
        entry.croner.push(
          await inChild<StartupResult>("startup", {
            impl: "croner",
            dir: dir.path,
          } satisfies StartupArgs),
        );
    }
    if (n === 10000) {
      // As after a hand edit of db.json: no seal, so every task goes through zod.
      await rm(join(dir.path, "db.json.checked"));
      progress(`start-up: ${n} tasks, db.json changed by hand`);
      for (let r = 0; r < STARTUP_ROUNDS; r++) {
        entry.edited.push(
          await inChild<StartupResult>("startup", {
            impl: "ours",
            dir: dir.path,
          } satisfies StartupArgs),
        );
      }
    }
    out[n] = entry;
    await dir.remove();
  }
  raw.startup = out;
  for (const n of [0, 1000, 10000]) {
    const e = out[n] as (typeof out)[string];
    const ms = median(e.ours.map((x) => x.ms));
    const rss = median(e.ours.map((x) => x.rssMb));
    const heap = median(e.ours.map((x) => x.heapMb));
    const cMs = median(e.croner.map((x) => x.ms));
    const cRss = median(e.croner.map((x) => x.rssMb));
    const label = n
      ? `${count(n)} tasks (mixed, ${count(e.patterns)} distinct cron patterns)`
      : "0 tasks (baseline)";
    rows.push({
      figure: `start-up (open store + schedule all), ${label}`,
      value: `${fmt(ms)} ms`,
      ...(n === 10000 ? { target: "≤ 300 ms", met: ms <= 300 } : {}),
      ...(n ? { compare: `one croner job per task: ${fmt(cMs)} ms (ours ${ratio(ms, cMs)})` } : {}),
    });
    if (e.edited.length) {
      rows.push({
        figure: `start-up, ${label}, db.json changed by hand (checked in full by zod)`,
        value: `${fmt(median(e.edited.map((x) => x.ms)))} ms`,
      });
    }
    rows.push({
      figure: `RSS after start-up, ${label}`,
      value: `${fmt(rss)} MB (heap ${fmt(heap)} MB)`,
      ...(n === 10000 ? { target: "≤ 150 MB", met: rss <= 150 } : {}),
      ...(n
        ? { compare: `one croner job per task: ${fmt(cRss)} MB (ours ${ratio(rss, cRss)})` }
        : {}),
    });
  }
}

// ---- durable mutations

const OPS: Op[] = ["add", "edit", "disable"];
const MUTATION_TARGETS: Record<number, { p50: number; p99?: number }> = {
  1000: { p50: 2 },
  10000: { p50: 2, p99: 50 },
};

async function mutation(): Promise<void> {
  const out: MutationResult[] = [];
  for (const n of [100, 1000, 10000]) {
    const dir = await tempDir();
    await writeDataDir(dir.path, { tasks: mixedTasks(n, Date.now()) });
    progress(`durable mutations: ${n} tasks stored`);
    const args: MutationArgs = {
      dir: dir.path,
      rounds: 3,
      perRound: 200,
      bursts: n === 10000 ? 3 : 0,
      compaction: true,
    };
    out.push(await inChild<MutationResult>("mutation", args));
    await dir.remove();
  }
  raw.mutation = out.map(({ samples, ...r }) => ({
    ...r,
    perRound: Object.fromEntries(OPS.map((op) => [op, pooled(samples[op]).perRound])),
  }));
  for (const r of out) mutationRows(r, "");
}

function mutationRows(r: MutationResult, label: string): void {
  const all = pooled(OPS.flatMap((op) => r.samples[op]));
  const limit = MUTATION_TARGETS[r.n];
  const folds = r.compactions.map((c) => fmt(c.ms)).join(", ");
  const row: Row = {
    figure: `durable mutation (add, edit, disable/enable interleaved, each awaited until on disk), ${count(r.n)} tasks stored${label}`,
    p50: all.p50,
    p99: all.p99,
    max: all.max,
    value: `${count(all.n)} samples; ${r.compactions.length} compactions (${folds || "none"} ms)`,
    compare: OPS.map((op) => `${op} p50 ${fmt(pooled(r.samples[op]).p50)}`).join(", "),
  };
  if (limit) {
    row.target = `p50 ≤ ${limit.p50} ms${limit.p99 ? `, p99 ≤ ${limit.p99} ms` : ""}`;
    row.met = all.p50 <= limit.p50 && (!limit.p99 || all.p99 <= limit.p99);
  }
  rows.push(row);
  if (r.burstMs.length) {
    const ms = median(r.burstMs);
    rows.push({
      figure: `1,000 concurrent adds, ${count(r.n)} tasks stored (median of ${r.burstMs.length})`,
      value: `${fmt(ms)} ms`,
      target: "≤ 2,000 ms",
      met: ms <= 2000,
      compare: `${fmt(ms / 1000, 2)} ms per add`,
    });
  }
}

// ---- sustained runs

async function sustained(): Promise<void> {
  progress("sustained runs: 1,000 tasks every second, then back to back");
  const args: SustainedArgs = { tasks: 1000, seconds: 5, concurrency: 100, windows: 3 };
  const r = await inChild<SustainedResult>("sustained", args);
  raw.sustained = r;
  const cpu = median(r.cpuPer1000);
  rows.push({
    figure: "1,000 tasks every second (full path): CPU per 1,000 firings",
    value: `${fmt(cpu)} ms; ${count(r.lost)} of ${count(r.expected)} lost`,
    target: "≤ 60 ms, none lost",
    met: cpu <= 60 && r.lost === 0,
  });
  rows.push({
    figure: "runs per second, back to back (runNow, no-op handler, log + history, 100 in flight)",
    value: `${count(Math.round(median(r.runsPerSecond)))} runs/s`,
  });
}

// ---- daily briefing

async function briefing(): Promise<void> {
  progress("daily briefing");
  const args: BriefingArgs = {
    goals: 100,
    reminders: 50,
    logLines: 10_000,
    rounds: 3,
    perRound: 15,
  };
  const r = await inChild<BriefingResult>("briefing", args);
  raw.briefing = { ...r, rounds: pooled(r.rounds).perRound };
  const d = pooled(r.rounds);
  rows.push({
    figure:
      "daily briefing (runNow dry run): 100 goals, 50 reminders, 10,000 log lines in its window",
    p50: d.p50,
    p99: d.p99,
    max: d.max,
    target: "≤ 20 ms (p50)",
    met: d.p50 <= 20,
    compare: `${count(r.bytes)} characters of markdown`,
  });
}

// ---- markdown splitting

async function split(): Promise<void> {
  progress("markdown splitting");
  const args: SplitArgs = { bytes: 100_000, rounds: 3, perRound: 5 };
  const r = await inChild<SplitResult>("split", args).catch(
    (err): SplitResult => ({
      ok: false,
      reason: String((err as Error).message).split("\n")[0] as string,
    }),
  );
  raw.split = r.ok ? { ...r, rounds: pooled(r.rounds).perRound } : r;
  if (r.ok) {
    const d = pooled(r.rounds);
    rows.push({
      figure: "splitForDiscord, 100 KB of markdown",
      p50: d.p50,
      p99: d.p99,
      max: d.max,
      compare: `${count(r.chunks)} messages`,
    });
  } else {
    rows.push({ figure: "splitForDiscord, 100 KB of markdown", value: `skipped: ${r.reason}` });
  }
}

// ---- many servers

async function servers(): Promise<void> {
  const dir = await tempDir();
  const n = { servers: 1000, perServer: 10 };
  await writeServersDir(dir.path, n.servers, n.perServer);
  const results: ServersResult[] = [];
  for (let r = 0; r < STARTUP_ROUNDS; r++) {
    progress(`servers: ${n.servers} × ${n.perServer} tasks, round ${r + 1}`);
    results.push(await inChild<ServersResult>("servers", { dir: dir.path, ...n, samples: 100 }));
  }
  await dir.remove();
  raw.servers = results;
  const label = `${count(n.servers)} servers × ${n.perServer} tasks (${count(n.servers * n.perServer)} tasks)`;
  const ms = median(results.map((x) => x.startupMs));
  rows.push({ figure: `start-up (open store + schedule all), ${label}`, value: `${fmt(ms)} ms` });
  rows.push({
    figure: `RSS after start-up, ${label}`,
    value: `${fmt(median(results.map((x) => x.rssMb)))} MB (heap ${fmt(median(results.map((x) => x.heapMb)))} MB)`,
  });
  // p50, p99 and max over every sample of every round.
  const edit = dist(results.flatMap((x) => x.editMs));
  rows.push({
    figure: `durable disable/enable of one server's task (awaited until on disk), ${label}`,
    p50: edit.p50,
    p99: edit.p99,
    max: edit.max,
  });
  const list = dist(results.flatMap((x) => x.listMs));
  rows.push({
    figure: `/task list for one server (overview + embed, ${results[0]?.listed} tasks), ${label}`,
    p50: list.p50,
    p99: list.p99,
    max: list.max,
    target: "p50 ≤ 5 ms",
    met: list.p50 <= 5,
  });
}

// ---- table

function table(): string {
  const cell = (s: string) => s.replace(/\|/g, "\\|");
  const lines = [
    "| figure | p50 ms | p99 ms | max ms | value | target | met | comparison |",
    "|---|--:|--:|--:|---|---|:-:|---|",
  ];
  for (const r of rows) {
    lines.push(
      `| ${cell(r.figure)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.max)} | ${cell(r.value ?? "")} | ${cell(r.target ?? "")} | ${r.met === undefined ? "" : r.met ? "yes" : "**no**"} | ${cell(r.compare ?? "")} |`,
    );
  }
  return lines.join("\n");
}

const { json, only } = parseArgs(process.argv.slice(2));
const started = Date.now();
const run: Record<Section, () => Promise<void>> = {
  lag,
  startup,
  mutation,
  sustained,
  briefing,
  split,
  servers,
};
const seconds: Record<string, number> = {};
for (const s of SECTIONS) {
  if (!only.has(s)) continue;
  const t = Date.now();
  await run[s]();
  seconds[s] = (Date.now() - t) / 1000;
}
const totalS = (Date.now() - started) / 1000;
const machine = `${cpus().length} × ${cpus()[0]?.model ?? "CPU"}, ${Math.round(totalmem() / 2 ** 30)} GB, Node ${process.version}, ${process.platform}`;
process.stdout.write(`${table()}\n\n${machine}; bench took ${totalS.toFixed(0)} s.\n`);
if (json) {
  const met = rows.filter((r) => r.met !== undefined);
  await writeFile(
    json,
    `${JSON.stringify(
      {
        at: new Date(started).toISOString(),
        machine,
        seconds: { total: totalS, ...seconds },
        targets: { met: met.filter((r) => r.met).length, of: met.length },
        rows,
        raw,
      },
      null,
      2,
    )}\n`,
  );
  progress(`wrote ${json}`);
}
