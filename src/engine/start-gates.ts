// The handlers of runs due together start only once every one of them is claimed, and then
// one after another from one loop, in slices of at most SLICE_MS a turn of the event loop
// apart: claiming is cheap and bounded, a handler's work is not, and one that works
// synchronously must delay neither another run's claim nor, for long, the rest of the process
// (the gateway's heartbeats, interactions, timers). A run's bookkeeping (its output saved, its
// log line, its history) waits until every handler of the burst has started, so the last
// handler never waits for the first ones' writes — nor for their promises' callbacks, which a
// handler called from a promise callback of its own would queue behind.

/** Handlers are started from one loop for at most this long before the process gets a turn. */
export const SLICE_MS = 50;

export class StartGates {
  readonly #starts: (() => void)[] = [];
  readonly allOpened: Promise<void>;
  #openAll: () => void = () => {};
  #opened = false;
  #done = false;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.allOpened = new Promise<void>((resolve) => {
      this.#openAll = resolve;
    });
  }

  /**
   * Calls `start` in its turn once the gates open (at once when the burst is over), and
   * settles as the promise it returns does.
   */
  add<T>(start: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const go = () => {
        try {
          start().then(resolve, reject);
        } catch (err) {
          reject(err);
        }
      };
      if (this.#done) go();
      else this.#starts.push(go);
    });
  }

  /** Starts the first slice now and each next one in a later turn (setImmediate). */
  open(): void {
    if (this.#opened) return;
    this.#opened = true;
    let i = 0;
    const slice = () => {
      const end = this.now() + SLICE_MS;
      const starts = this.#starts;
      while (i < starts.length) {
        (starts[i++] as () => void)();
        if (this.now() >= end && i < starts.length) {
          setImmediate(slice);
          return;
        }
      }
      starts.length = 0;
      this.#done = true;
      this.#openAll();
    };
    slice();
  }
}
