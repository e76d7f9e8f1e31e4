import type { Clock, TimerHandle } from "../../src/time/clock.ts";

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

/** Lets I/O and promise chains started by a timer move on before the next one fires. */
export async function settle(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

/**
 * A clock that moves only when the test says so; timers fire in order of their due time. Timers
 * run on its monotonic time; the wall clock is that plus an offset, which `stepWall` changes as
 * NTP or a resumed VM would.
 */
export class FakeClock implements Clock {
  /** Monotonic time; the wall clock is this plus #offset. */
  #now: number;
  #offset = 0;
  #timers: Timer[] = [];
  #seq = 0;

  constructor(start: string | number) {
    this.#now = typeof start === "number" ? start : Date.parse(start);
  }

  now(): number {
    return this.#now + this.#offset;
  }

  monotonic(): number {
    return this.#now;
  }

  /** Steps the wall clock by `ms` (back when negative); timers and durations are unaffected. */
  stepWall(ms: number): void {
    this.#offset += ms;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { id: ++this.#seq, at: this.#now + Math.max(0, ms), fn };
    this.#timers.push(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers = this.#timers.filter((t) => t !== handle);
  }

  get pending(): number {
    return this.#timers.length;
  }

  /** The wall-clock time of the next timer. */
  nextAt(): number | undefined {
    const at = this.#timers.reduce<number | undefined>(
      (min, t) => (min === undefined || t.at < min ? t.at : min),
      undefined,
    );
    return at === undefined ? undefined : at + this.#offset;
  }

  /** Moves time forward by `ms`, firing each timer due on the way at its own instant. */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.now() + ms);
  }

  /** Moves time forward until the wall clock reads `target`. */
  async advanceTo(target: number | string): Promise<void> {
    const end = (typeof target === "number" ? target : Date.parse(target)) - this.#offset;
    await settle();
    for (;;) {
      const due = this.#timers
        .filter((t) => t.at <= end)
        .sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = Math.max(this.#now, due.at);
      due.fn();
      await settle();
    }
    this.#now = Math.max(this.#now, end);
  }
}
