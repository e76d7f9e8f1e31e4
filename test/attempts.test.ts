import { describe, expect, it } from "vitest";
import { Attempt, AttemptSet } from "../src/engine/attempts.ts";
import { FakeClock } from "./support/fake-clock.ts";

describe("attempts: one timer over every deadline", () => {
  it("times out each attempt at its own deadline, never one that finished, with one timer", async () => {
    const clock = new FakeClock("2026-11-26T12:00:00Z");
    const expired: number[] = [];
    const set = new AttemptSet(clock, (a) => {
      expired.push((a.deadline - a.startedAt) / 1000);
      a.abort(new Error("timeout"));
    });
    const t0 = clock.now();
    const a30 = new Attempt(t0, 30_000);
    const a10 = new Attempt(t0, 10_000);
    const a20 = new Attempt(t0, 20_000);
    for (const a of [a30, a10, a20]) set.add(a);
    expect(clock.pending).toBe(1);
    set.delete(a10); // finished in time
    await clock.advance(15_000);
    expect(expired).toEqual([]);
    await clock.advance(5_000);
    expect(expired).toEqual([20]);
    expect(a20.signal.aborted).toBe(true);
    expect(a30.signal.aborted).toBe(false);
    await clock.advance(10_000);
    expect(expired).toEqual([20, 30]);
    expect(clock.pending).toBe(0);
  });

  it("watches an attempt added twice once: one timeout, and its deletion ends the watch", async () => {
    const clock = new FakeClock("2026-11-26T12:00:00Z");
    let expired = 0;
    const set = new AttemptSet(clock, () => expired++);
    const a = new Attempt(clock.monotonic(), 1000);
    const b = new Attempt(clock.monotonic(), 5000);
    set.add(a);
    set.add(b);
    set.add(a);
    await clock.advance(1000);
    expect(expired).toBe(1);
    set.delete(b);
    await clock.advance(10_000);
    expect(expired).toBe(1);
    expect(clock.pending).toBe(0);
  });

  it("makes its signal only when asked, aborted if the attempt already was", async () => {
    const late = new Attempt(0, 1000);
    late.abort(new Error("cut off"));
    expect(late.signal.aborted).toBe(true);
    expect(late.signal.reason).toEqual(new Error("cut off"));
    await expect(late.race(Promise.resolve(1))).rejects.toThrow("cut off");

    const running = new Attempt(0, 1000);
    const signal = running.signal;
    let release: (v: string) => void = () => {};
    const work = running.race(new Promise<string>((r) => (release = r)));
    running.abort(new Error("timeout"));
    await expect(work).rejects.toThrow("timeout");
    expect(signal.aborted).toBe(true);
    release("too late"); // the handler's own promise settling later changes nothing

    const ok = new Attempt(0, 1000);
    await expect(ok.race(Promise.resolve("done"))).resolves.toBe("done");
  });
});
