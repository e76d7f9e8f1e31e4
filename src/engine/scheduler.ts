import type { Logger } from "../shared/logger.ts";
import { runKey } from "../store/execution.ts";
import type { ExecutionRecords } from "../store/execution-records.ts";
import type { Store } from "../store/store.ts";
import { ByTask } from "../tasks/by-task.ts";
import type { Task } from "../tasks/model.ts";
import { type Clock, isoTime, MAX_TIMER_MS, type TimerHandle } from "../time/clock.ts";
import { catchUpRun, nextDue, timelineChanged } from "../time/timeline.ts";
import type { DueRun, DueRuns } from "./due-runs.ts";
import { MinHeap } from "./min-heap.ts";
import type { RunWatch } from "./run.ts";
import { StartGates } from "./start-gates.ts";

// One timer over every task's next instant, kept in a min-heap: the timeline answers "when
// next", the scheduler decides "what now". It follows the store's task changes: a changed task
// gets a new slot, and its old one is dropped lazily when it reaches the top.

/** Where due runs go when processes share them (PostgreSQL): one of them will start each. */
export interface RunQueue {
  add(run: DueRun): void;
  /** Takes runs from the queue while the scheduler runs. */
  start(): void;
  pause(): void;
}

export interface SchedulerDeps {
  store: Store;
  dueRuns: DueRuns;
  /** Absent: this process starts every due run itself. */
  queue?: RunQueue;
  executionLog: ExecutionRecords;
  clock: Clock;
  log: Logger;
  catchUpWindowMinutes: number;
}

interface Slot {
  at: number;
  /** The task as stored now: a change that leaves its timeline as it was lands here. */
  task: Task;
  /**
   * Replaced, or its task gone: left in the heap until it reaches the top. A flag rather than
   * a look at the task's current slot: thousands of due slots are checked at once.
   */
  dropped: boolean;
}

export class Scheduler {
  readonly #heap = new MinHeap<Slot>();
  /** Each task's current slot. */
  readonly #current = new ByTask<Slot>();
  #timer: TimerHandle | null = null;
  #armedAt = Number.POSITIVE_INFINITY;
  /** Runs and bookkeeping started and not yet settled, counted rather than kept. */
  #inFlight = 0;
  #whenIdle: (() => void)[] = [];
  #unfollow: (() => void) | null = null;

  constructor(private readonly deps: SchedulerDeps) {}

  /** Schedules every enabled task, first making up runs missed while stopped. */
  async start(): Promise<void> {
    const { store, clock } = this.deps;
    this.#unfollow = store.onTaskChange(this.#follow);
    const now = clock.now();
    const logged = await this.#loggedRuns(now);
    const gates = new StartGates();
    // One pass: a task's catch-up check and its placement ask croner about the same pattern
    // one after the other, while its answers are still cached; most often the check already
    // found the next run.
    for (const task of store.data.tasks) {
      const next = logged ? this.#catchUp(task, now, logged, gates) : undefined;
      this.#place(task, now, next);
    }
    this.#arm();
    gates.open();
    this.deps.queue?.start();
  }

  /** Between start() and stop(): what /healthz reports. */
  get running(): boolean {
    return this.#unfollow !== null;
  }

  /** Stops scheduling; runs already started go on (the runner bounds them on shutdown). */
  stop(): void {
    this.deps.queue?.pause();
    this.#unfollow?.();
    this.#unfollow = null;
    if (this.#timer) this.deps.clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#armedAt = Number.POSITIVE_INFINITY;
    this.#heap.clear();
    this.#current.clear();
  }

  /** A task was added, changed or deleted: its slot follows when its timeline may differ. */
  readonly #follow = (before: Task | undefined, after: Task | undefined): void => {
    if (!timelineChanged(before, after)) {
      const slot = after && this.#current.get(after.guildId, after.id);
      if (slot) slot.task = after;
      return;
    }
    const task = (after ?? before) as Task;
    this.#drop(task);
    if (after) this.#place(after, this.deps.clock.now());
    this.#arm();
  };

  /** Resolves when dispatched runs have settled (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.#inFlight) await new Promise<void>((resolve) => this.#whenIdle.push(resolve));
  }

  #place(task: Task, afterMs: number, at = nextDue(task, afterMs)): void {
    if (at === null) return;
    const slot = { at, task, dropped: false };
    this.#current.set(task.guildId, task.id, slot);
    this.#heap.push(slot);
  }

  /** The task's slot, if any, is no longer current. */
  #drop(task: Task): void {
    const slot = this.#current.get(task.guildId, task.id);
    if (!slot) return;
    slot.dropped = true;
    this.#current.delete(task.guildId, task.id);
  }

  #arm(): void {
    let top = this.#heap.peek();
    while (top?.dropped) {
      this.#heap.pop();
      top = this.#heap.peek();
    }
    const at = top?.at ?? Number.POSITIVE_INFINITY;
    if (at === this.#armedAt) return;
    if (this.#timer) this.deps.clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#armedAt = at;
    if (!top) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, at - this.deps.clock.now()));
    this.#timer = this.deps.clock.setTimeout(() => this.#fire(), delay);
  }

  #fire(): void {
    this.#timer = null;
    this.#armedAt = Number.POSITIVE_INFINITY;
    const now = this.deps.clock.now();
    // Every due run is claimed in this one pass (marked running, stamped, its next slot placed)
    // before any handler is called: the handlers start after it (start-gates.ts), so the last
    // run claimed waits for the claims before it, not for their handlers' work.
    // The due slots come off the heap before any goes back on at its next instant: one of many
    // due together then leaves the heap at once, where one put back first would sink through
    // every level of it on each next pop.
    const due: Slot[] = [];
    for (let top = this.#heap.peek(); top && top.at <= now; top = this.#heap.peek()) {
      this.#heap.pop();
      if (!top.dropped) due.push(top);
    }
    const gates = new StartGates();
    for (const slot of due) this.#due(slot, now, gates);
    this.#arm();
    gates.open();
  }

  #due(slot: Slot, now: number, gates: StartGates): void {
    // A current slot's task is as stored, and still due at this instant: a change that could
    // say otherwise (deleted, disabled, ended, rescheduled) replaced the slot.
    const { task, at } = slot;
    // The slot moves on to the task's next instant, counted from the later of the due instant
    // and now, so a late timer (a busy event loop, a suspended laptop) fires once, not once per
    // missed instant.
    const next = nextDue(task, Math.max(at, now));
    if (next === null) this.#drop(task);
    else {
      slot.at = next;
      this.#heap.push(slot);
    }
    this.#dispatch(task, at, "schedule", gates);
  }

  #dispatch(task: Task, at: number, trigger: DueRun["trigger"], gates: StartGates): void {
    if (this.deps.queue) {
      this.deps.queue.add({ tenant: task.guildId, taskId: task.id, at, trigger });
      return;
    }
    this.#inFlight++;
    this.deps.dueRuns.start(task, at, trigger, gates, this.#watch);
  }

  // One watch for every run rather than a promise and callbacks per run: with thousands of runs
  // due at once, every allocation at dispatch shows in how late the last handler starts.
  readonly #watch: RunWatch = {
    ended: () => {
      if (--this.#inFlight) return;
      for (const wake of this.#whenIdle.splice(0)) wake();
    },
    failed: (err) => {
      // A run's own failures are results, not failures here: this is a run that could not
      // start (shutdown) or bookkeeping (its record, a skip) that could not be saved.
      this.deps.log.error({ err }, "a scheduled run could not start or be logged");
      this.#watch.ended();
    },
  };

  /** The runs already in the log within the catch-up window, or null when there is no window. */
  async #loggedRuns(now: number): Promise<Set<string> | null> {
    const windowMs = this.deps.catchUpWindowMinutes * 60_000;
    if (windowMs <= 0) return null;
    return new Set(
      (await this.deps.executionLog.since(now - windowMs - 60_000)).map((e) => e.runId),
    );
  }

  /** Dispatches the task's missed run, if any; returns its next run when that was found. */
  #catchUp(
    task: Task,
    now: number,
    logged: Set<string>,
    gates: StartGates,
  ): number | null | undefined {
    const windowMs = this.deps.catchUpWindowMinutes * 60_000;
    const { missed, next } = catchUpRun(task, now - windowMs, now);
    if (missed === null || logged.has(runKey(task.guildId, task.id, missed))) return next;
    this.deps.log.info({ taskId: task.id, missed: isoTime(missed) }, "catching up a missed run");
    this.#dispatch(task, missed, "catch-up", gates);
  }
}
