import type { Clock, TimerHandle } from "../time/clock.ts";

// Cancellation for attempts without an AbortController and a timer each: with thousands of
// runs due at once, those two were a third of the cost of starting a run. What the handler
// did is kept on the same object for the same reason: one allocation per attempt, not two.

/**
 * One attempt: its cancellation, and its handler's call (kept by run.ts). Its AbortController
 * is made only when needed (aborted, raced, or its signal asked for): most attempts never are.
 */
export class Attempt {
  #controller: AbortController | null = null;
  /** Its place in the AttemptSet, -1 when in none. */
  place = -1;
  /** Monotonic ms when the handler was done: returned, threw or its promise settled (NaN until then). */
  settledAt = Number.NaN;
  /** The handler's promise, when it returned one. */
  work: Promise<unknown> | undefined = undefined;
  /** What the handler returned (not a promise), or what it threw. */
  value: unknown = undefined;
  threw = false;

  constructor(
    /** Monotonic ms when its handler was called. */
    readonly startedAt: number,
    readonly timeoutMs: number,
  ) {}

  get deadline(): number {
    return this.startedAt + this.timeoutMs;
  }

  get signal(): AbortSignal {
    this.#controller ??= new AbortController();
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    this.#controller ??= new AbortController();
    this.#controller.abort(reason); // a second abort changes nothing
  }

  /** Settles as `work` does, unless the attempt is aborted first: then rejects with the reason. */
  race<T>(work: Promise<T>): Promise<T> {
    const signal = this.signal;
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      work.then(resolve, reject);
    });
  }
}

/**
 * The attempts in progress, with one timer for the earliest of their deadlines. An array with
 * each attempt's place kept on it, not a Set: thousands are added at once in a burst.
 */
export class AttemptSet {
  readonly #attempts: Attempt[] = [];
  #timer: TimerHandle | null = null;
  #armedAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly clock: Clock,
    private readonly onDeadline: (attempt: Attempt) => void,
  ) {}

  /** Watches `attempt`'s deadline; once only, however often it is added. */
  add(attempt: Attempt): void {
    if (attempt.place >= 0) return;
    attempt.place = this.#attempts.push(attempt) - 1;
    if (attempt.deadline < this.#armedAt) this.#arm(attempt.deadline);
  }

  delete(attempt: Attempt): void {
    const i = attempt.place;
    if (i < 0) return;
    attempt.place = -1;
    const last = this.#attempts.pop() as Attempt;
    if (last !== attempt) {
      this.#attempts[i] = last;
      last.place = i;
    }
    if (!this.#attempts.length) this.#arm(Number.POSITIVE_INFINITY);
  }

  abortAll(reason: unknown): void {
    for (const attempt of [...this.#attempts]) attempt.abort(reason);
  }

  #arm(at: number): void {
    if (this.#timer) this.clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#armedAt = at;
    if (at === Number.POSITIVE_INFINITY) return;
    this.#timer = this.clock.setTimeout(() => this.#sweep(), at - this.clock.monotonic());
  }

  #sweep(): void {
    this.#timer = null;
    const now = this.clock.monotonic();
    let next = Number.POSITIVE_INFINITY;
    for (const attempt of this.#attempts.filter((a) => a.deadline <= now)) {
      this.delete(attempt);
      this.onDeadline(attempt);
    }
    for (const attempt of this.#attempts) if (attempt.deadline < next) next = attempt.deadline;
    this.#arm(next);
  }
}
