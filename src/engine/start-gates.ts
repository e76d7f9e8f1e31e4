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
/** Starts this quick between two reads of the clock let the next reads come further apart... */
const QUICK_MS = 0.5;
/** ...up to this many starts apart: handlers that suddenly take long overrun a slice by fewer. */
const MAX_STRIDE = 8;

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
      let last = this.now();
      const end = last + SLICE_MS;
      const runs = this.#runs;
      // The clock is read after every start while handlers take time, and every few starts
      // while they return at once: a read (~0.07 µs) was a tenth of starting such a run.
      let stride = 1;
      let next = i + stride;
      while (i < runs.length) {
        (runs[i++] as BurstRun).start();
        if (i < next) continue;
        const now = this.now();
        if (now >= end && i < runs.length) {
          setImmediate(slice);
          return;
        }
        stride = now - last < QUICK_MS ? Math.min(stride * 2, MAX_STRIDE) : 1;
        last = now;
        next = i + stride;
      }
      this.#done = true;
      for (const run of runs) run.resume();
      runs.length = 0;
    };
    slice();
  }
}
