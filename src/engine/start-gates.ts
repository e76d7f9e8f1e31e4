// The handlers of runs due together start only once every one of them is claimed, and then
// one after another from one loop, in slices of at most SLICE_MS a turn of the event loop
// apart: claiming is cheap and bounded, a handler's work is not, and one that works
// synchronously must delay neither another run's claim nor, for long, the rest of the process
// (the gateway's heartbeats, interactions, timers). A run goes on past its handler's call (its
// outcome awaited, its output saved, its log line, its history) only once every handler of the
// burst has been called: the last handler waits neither for the first ones' writes nor for
// what their runs allocate — with thousands due at once, garbage collection was most of how
// late the last handler started.

/** Handlers are started from one loop for at most this long before the process gets a turn. */
export const SLICE_MS = 50;

/** A run of a burst. */
export interface BurstRun {
  /** Calls the run's handler. Never throws. */
  start(): void;
  /** Every handler of the burst has been called: the run goes on. */
  resume(): void;
}

export class StartGates {
  readonly #runs: BurstRun[] = [];
  #opened = false;
  #done = false;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Starts `run` in its turn once the gates open, and at once when the burst is over. */
  add(run: BurstRun): void {
    if (!this.#done) {
      this.#runs.push(run);
      return;
    }
    run.start();
    run.resume();
  }

  /** Starts the first slice now and each next one in a later turn (setImmediate). */
  open(): void {
    if (this.#opened) return;
    this.#opened = true;
    let i = 0;
    const slice = () => {
      const end = this.now() + SLICE_MS;
      const runs = this.#runs;
      while (i < runs.length) {
        (runs[i++] as BurstRun).start();
        if (this.now() >= end && i < runs.length) {
          setImmediate(slice);
          return;
        }
      }
      this.#done = true;
      for (const run of runs) run.resume();
      runs.length = 0;
    };
    slice();
  }
}
