import { createHash } from "node:crypto";
import type pg from "pg";
import PgBoss from "pg-boss";
import type { DueRun } from "../../engine/due-runs.ts";
import type { RunQueue } from "../../engine/scheduler.ts";
import { StartGates } from "../../engine/start-gates.ts";
import { MissionControlError } from "../../shared/errors.ts";
import type { Logger } from "../../shared/logger.ts";
import { runKey } from "../execution.ts";

// Runs shared by every bot process on one database, through pg-boss. Every process computes the
// due instants of every task (each has all records in memory), and every one of them adds the
// runs it finds due; a run's job id is derived from its run key (tenant, task, instant), so the
// second and third adds of one run change nothing: each run is created once and fetched by one
// process (SKIP LOCKED). A run's attempts and retries are the runner's, inside one job;
// pg-boss retries a job only when it expired: its process stopped renewing it (killed, frozen,
// cut off), and another one takes the run over.

export const RUN_QUEUE = "mission-control-runs";
const SETUP_LOCK = "hashtext('mission_control_run_queue_setup')";
const SCHEMA = "mc_boss";
/** A job whose process has not renewed it for this long is taken over by another. */
const EXPIRE_SECONDS = 15;
const RENEW_MS = 3_000;
/** pg-boss's check for expired jobs, by one process at a time. */
const MAINTENANCE_SECONDS = 5;
/** Takeovers of one run before it is given up (its process died each time). */
const TAKEOVERS = 3;
/** Retried only when expired (its process gone), at once, by another process. */
const JOB = { retryLimit: TAKEOVERS, retryDelay: 0, expireInSeconds: EXPIRE_SECONDS };
/** Small enough that the runs due at one instant are shared among the processes. */
const FETCH_BATCH = 100;
/** Runs one process holds at once; the rest are left to the others. */
const MAX_IN_FLIGHT = 2_000;
/** How often an idle process looks for runs it did not add itself (taken-over ones). */
const POLL_MS = 1_000;
/** A run handed over by a CLI command must be taken by a bot within this. */
const TAKE_MS = 10_000;
const OUTCOME_POLL_MS = 250;
/** Completions are sent together, this long after the first. */
const SETTLE_MS = 20;

/**
 * Starts a run taken from the queue; `takenOver` when another process held it before. Rejects
 * when the run could not start (shutting down): it goes back to the queue for another process.
 */
export type ExecuteRun = (run: DueRun, gates: StartGates, takenOver: boolean) => Promise<unknown>;

interface Job {
  id: string;
  data: DueRun;
  retryCount: number;
}

export class PgRunQueue implements RunQueue {
  #pending: DueRun[] = [];
  #adding: Promise<void> = Promise.resolve();
  readonly #active = new Set<string>();
  #completed: string[] = [];
  #failed: string[] = [];
  #settleTimer: ReturnType<typeof setTimeout> | null = null;
  #settling: Promise<void> = Promise.resolve();
  #working = false;
  #loop: Promise<void> = Promise.resolve();
  #nap: (() => void) | null = null;
  /** Runs may be waiting: set when woken in the middle of a fetch, so no wake is missed. */
  #poked = false;
  #renew: ReturnType<typeof setInterval> | null = null;

  private constructor(
    private readonly boss: PgBoss,
    private readonly pool: pg.Pool,
    private readonly execute: ExecuteRun,
    private readonly log: Logger,
  ) {}

  static async open(opts: {
    pool: pg.Pool;
    execute: ExecuteRun;
    log: Logger;
    /** A CLI command's: it only hands runs to the bots (no maintenance, no taking). */
    submitOnly?: boolean;
  }): Promise<PgRunQueue> {
    const { pool, log } = opts;
    const boss = new PgBoss({
      db: { executeSql: (text, values) => pool.query(text, values) },
      schema: SCHEMA,
      schedule: false,
      supervise: !opts.submitOnly,
      maintenanceIntervalSeconds: MAINTENANCE_SECONDS,
      // Past the catch-up window, so a run added again at a start is still known.
      archiveCompletedAfterSeconds: 6 * 3600,
      deleteAfterDays: 2,
    });
    boss.on("error", (err) => log.warn({ err }, "run queue maintenance failed; retrying"));
    // Processes starting together on a new database would deadlock in pg-boss's set-up: one
    // at a time.
    const client = await pool.connect();
    try {
      await client.query(`SELECT pg_advisory_lock(${SETUP_LOCK})`);
      await boss.start();
      await boss.createQueue(RUN_QUEUE, { name: RUN_QUEUE, policy: "standard", ...JOB });
    } finally {
      await client.query(`SELECT pg_advisory_unlock(${SETUP_LOCK})`).catch(() => {});
      client.release();
    }
    return new PgRunQueue(boss, pool, opts.execute, log);
  }

  /** A due run: added with the others found due in this turn of the event loop. */
  add(run: DueRun): void {
    if (this.#pending.push(run) > 1) return;
    setImmediate(() => {
      this.#adding = this.#adding.then(() => this.#insert(this.#pending.splice(0)));
    });
  }

  /** Starts taking runs from the queue (the scheduler's start). */
  start(): void {
    if (this.#working) return;
    this.#working = true;
    this.#renew ??= setInterval(() => void this.#renewActive(), RENEW_MS);
    this.#loop = this.#work();
  }

  /** Stops taking runs; the ones taken go on (the scheduler's stop). */
  pause(): void {
    this.#working = false;
    this.#wake();
  }

  #wake(): void {
    this.#poked = true;
    this.#nap?.();
  }

  /**
   * After the runner stopped: reports the runs that finished, hands back the ones that could
   * not start, and lets go of the rest (they expire and are taken over).
   */
  async close(): Promise<void> {
    this.pause();
    await this.#loop;
    await this.#adding;
    if (this.#renew) clearInterval(this.#renew);
    this.#renew = null;
    await this.#settle();
    await this.boss.stop({ graceful: false, wait: true, close: false });
  }

  /**
   * A CLI command's run now, handed to a bot, which runs it and posts where the task posts:
   * added to the queue, then waited for until `outcome` (the execution log) has it. Null when
   * no bot is connected to the database: the command runs it itself, as beside a stopped bot.
   */
  async runOnBot<T>(
    run: DueRun,
    outcome: () => Promise<T | null>,
    limitMs: number,
  ): Promise<T | null> {
    const { rows } = await this.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'mission-control bot'",
    );
    if (!rows[0]?.n) return null;
    const job = jobOf(run);
    await this.boss.insert([job]);
    const start = Date.now();
    let taken = false;
    for (;;) {
      const line = await outcome();
      if (line) return line;
      if (!taken && Date.now() - start > TAKE_MS) {
        const state = (await this.boss.getJobById(RUN_QUEUE, job.id))?.state;
        if (state === "created" || state === "retry") {
          await this.boss.cancel(RUN_QUEUE, job.id);
          throw new MissionControlError(
            `no Mission Control bot took the run within ${TAKE_MS / 1000} s, though one is connected to the database; nothing was run — try again, or look at the bots' logs`,
          );
        }
        taken = true;
      }
      if (Date.now() - start > limitMs)
        throw new MissionControlError(
          `a bot took the run but has not finished it after ${Math.round(limitMs / 1000)} s; see its history with: npm run cli -- history ${run.taskId}`,
        );
      await new Promise((r) => setTimeout(r, OUTCOME_POLL_MS));
    }
  }

  async #insert(runs: DueRun[]): Promise<void> {
    // In id order, as every process adds them: two adding the same runs wait for each other
    // rather than deadlock.
    const jobs = runs.map(jobOf).sort((a, b) => (a.id < b.id ? -1 : 1));
    for (let wait = 250; ; wait *= 2) {
      try {
        await this.boss.insert(jobs);
        this.#wake();
        return;
      } catch (err) {
        // A run not queued is not lost: its instant is not in the execution log, so the
        // catch-up when scheduling resumes (the connection back) queues it again.
        if (wait > 8_000) {
          this.log.error(
            { err, runs: runs.length },
            "could not queue due runs; they are caught up when the database is back",
          );
          return;
        }
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  async #work(): Promise<void> {
    while (this.#working) {
      this.#poked = false;
      const room = Math.min(FETCH_BATCH, MAX_IN_FLIGHT - this.#active.size);
      const jobs =
        room > 0
          ? await this.boss
              .fetch<DueRun>(RUN_QUEUE, { batchSize: room, includeMetadata: true })
              .catch(() => [])
          : [];
      if (jobs.length) this.#take(jobs);
      if ((jobs.length && jobs.length === room) || this.#poked) continue; // more may be waiting
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, POLL_MS);
        this.#nap = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#nap = null;
    }
  }

  /** Claims every run of the batch, then lets their handlers start (as the scheduler does). */
  #take(jobs: Job[]): void {
    const gates = new StartGates();
    for (const job of jobs) {
      this.#active.add(job.id);
      let run: Promise<unknown>;
      try {
        run = this.execute(job.data, gates, job.retryCount > 0);
      } catch (err) {
        run = Promise.reject(err);
      }
      run.then(
        () => this.#done(job.id, this.#completed),
        (err) => {
          this.log.warn({ err, runId: job.id }, "a queued run could not start; handing it back");
          this.#done(job.id, this.#failed);
        },
      );
    }
    gates.open();
  }

  #done(id: string, list: string[]): void {
    const wasFull = this.#active.size >= MAX_IN_FLIGHT;
    this.#active.delete(id);
    list.push(id);
    this.#settleTimer ??= setTimeout(() => {
      this.#settleTimer = null;
      void this.#settle();
    }, SETTLE_MS);
    if (wasFull) this.#wake();
  }

  async #settle(): Promise<void> {
    if (this.#settleTimer) clearTimeout(this.#settleTimer);
    this.#settleTimer = null;
    // In id order, so two processes' completions never wait on each other in a cycle.
    const completed = this.#completed.splice(0).sort();
    const failed = this.#failed.splice(0).sort();
    this.#settling = this.#settling.then(async () => {
      try {
        if (completed.length) await this.boss.complete(RUN_QUEUE, completed);
        if (failed.length) await this.boss.fail(RUN_QUEUE, failed);
      } catch (err) {
        // Not lost either way: a job left active expires, and its run is seen in the log.
        this.log.warn({ err }, "could not mark queued runs done; they expire and are checked");
      }
    });
    await this.#settling;
  }

  /**
   * pg-boss expires a job a fixed time after it started; a run may take longer. Renewing the
   * start of every run this process holds keeps them its own for as long as it is alive, so
   * the expiry can be short and a dead process's runs are taken over quickly.
   */
  async #renewActive(): Promise<void> {
    if (!this.#active.size) return;
    await this.pool
      .query(
        `UPDATE ${SCHEMA}.job SET started_on = now() WHERE name = $1 AND id = ANY($2::uuid[]) AND state = 'active'`,
        [RUN_QUEUE, [...this.#active]],
      )
      .catch((err) => this.log.warn({ err }, "could not renew the runs in progress"));
  }
}

const jobOf = (run: DueRun) => ({
  id: runUuid(runKey(run.tenant, run.taskId, run.at)),
  name: RUN_QUEUE,
  data: run,
  ...JOB,
});

/** A name-based UUID (version 5) of a run key: the same run has the same job id everywhere. */
export function runUuid(key: string): string {
  const namespace = Buffer.from("6f6a0b7e1c2d4e5fa1b2c3d4e5f60718", "hex");
  const hash = createHash("sha1").update(namespace).update(key).digest();
  hash[6] = ((hash[6] as number) & 0x0f) | 0x50;
  hash[8] = ((hash[8] as number) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
