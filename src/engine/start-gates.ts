// The handlers of runs due together start only once every one of them is claimed, and then in
// batches a turn of the event loop apart: claiming is cheap and bounded, a handler's work is
// not, and one that works synchronously must delay neither another run's claim nor, for
// long, the rest of the process (the gateway's heartbeats, interactions, timers). A run's
// bookkeeping (its log line, its history) waits until every handler of the burst has started,
// so the last batch never waits for the first ones' writes.

/** Batches of this many handlers start in one turn of the event loop. */
export const START_BATCH = 1024;

export interface StartGate {
  /** The handler may start. */
  opened: Promise<void>;
  /** Every handler of the burst has started: bookkeeping may begin. */
  allOpened: Promise<void>;
}

export class StartGates {
  readonly #open: (() => void)[] = [];
  readonly #allOpened: Promise<void>;
  #openAll: () => void = () => {};
  #gate: StartGate | undefined;
  #inBatch = 0;

  constructor(private readonly batchSize = START_BATCH) {
    this.#allOpened = new Promise<void>((resolve) => {
      this.#openAll = resolve;
    });
  }

  /** The gate of the next run claimed. */
  next(): StartGate {
    if (!this.#gate || this.#inBatch >= this.batchSize) {
      this.#gate = {
        opened: new Promise<void>((resolve) => this.#open.push(resolve)),
        allOpened: this.#allOpened,
      };
      this.#inBatch = 0;
    }
    this.#inBatch++;
    return this.#gate;
  }

  /** Opens the first batch's gate now and each next one in a later turn (setImmediate). */
  open(): void {
    const gates = this.#open.splice(0);
    let i = 0;
    const step = () => {
      gates[i++]?.();
      if (i < gates.length) setImmediate(step);
      else this.#openAll();
    };
    step();
  }
}
