import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import type { OutputSink } from "../outputs/sink.ts";
import type { Execution } from "../store/execution.ts";
import type { Task } from "../tasks/model.ts";

// Prometheus metrics for GET /metrics: one registry per app (tests build their own), fed by
// the runner's attempts and by a sink placed after the others, so an output counts as
// delivered only once every sink before it took it. An attempt only adds to plain numbers
// (it is on the fire path of every run); they become Prometheus text when scraped.

export interface Metrics {
  registry: Registry;
  /** The runner's attempt hook. */
  attempt(e: Execution): void;
  /** Counts outputs delivered and alerts sent; goes last among the sinks. */
  sink: OutputSink;
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const LAG_SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 60];

interface Value {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/** A histogram as counts per bucket, read out cumulatively at scrape time. */
class Buckets {
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: number[],
  ) {
    this.#counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    this.#sum += value;
    this.#count++;
    // A loop, not findIndex: this runs for every attempt.
    for (let i = 0; i < this.bounds.length; i++) {
      if (value <= (this.bounds[i] as number)) {
        this.#counts[i] = (this.#counts[i] as number) + 1;
        return;
      }
    }
  }

  values(): Value[] {
    let running = 0;
    const out: Value[] = this.bounds.map((le, i) => {
      running += this.#counts[i] as number;
      return { labels: { le }, value: running, metricName: `${this.name}_bucket` };
    });
    out.push(
      { labels: { le: "+Inf" }, value: this.#count, metricName: `${this.name}_bucket` },
      { labels: {}, value: this.#sum, metricName: `${this.name}_sum` },
      { labels: {}, value: this.#count, metricName: `${this.name}_count` },
    );
    return out;
  }
}

/** A metric prom-client formats from values we keep ourselves. */
function register(
  registry: Registry,
  name: string,
  help: string,
  type: "counter" | "histogram",
  values: () => Value[],
): void {
  // prom-client formats any metric that answers get() with its values.
  registry.registerMetric({
    name,
    help,
    get: async () => ({ name, help, type, aggregator: "sum", values: values() }),
  } as never);
}

/** Digits of the milliseconds (3), then "Z": what follows a second's text in isoTime's form. */
const MS_AND_Z = 4;
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * Date.parse for the log's timestamps (isoTime's "2026-11-28T09:00:00.123Z"), each second's
 * text parsed once: a thousand runs due together are logged within the same few seconds.
 * Anything else goes to Date.parse.
 */
export class IsoParser {
  #prefix = "";
  #prefixMs = Number.NaN;

  parse(text: string): number {
    const known = this.#prefix.length > 0 && text.length === this.#prefix.length + MS_AND_Z;
    if (known && text.startsWith(this.#prefix)) {
      const at = this.#prefix.length;
      const a = text.charCodeAt(at) - 48;
      const b = text.charCodeAt(at + 1) - 48;
      const c = text.charCodeAt(at + 2) - 48;
      if (
        a >= 0 &&
        a <= 9 &&
        b >= 0 &&
        b <= 9 &&
        c >= 0 &&
        c <= 9 &&
        text.charCodeAt(at + 3) === 90
      ) {
        return this.#prefixMs + a * 100 + b * 10 + c;
      }
    }
    const ms = Date.parse(text);
    if (ISO_MS.test(text) && Number.isFinite(ms)) {
      this.#prefix = text.slice(0, -MS_AND_Z);
      this.#prefixMs = ms - Number(text.slice(-MS_AND_Z, -1));
    }
    return ms;
  }
}

export function createMetrics(tasks: () => readonly Task[]): Metrics {
  const registry = new Registry();
  const startedAt = new IsoParser();
  const scheduledAt = new IsoParser();
  collectDefaultMetrics({ register: registry, prefix: "mission_control_process_" });
  /** Attempts by status and trigger, in the order each pair was first seen. */
  const attempts: { status: string; trigger: string; value: number }[] = [];
  /** status -> trigger -> its count in `attempts`: found without building a key per attempt. */
  const attemptsBy = new Map<string, Map<string, { value: number }>>();
  register(
    registry,
    "mission_control_attempts_total",
    "Attempts of task runs, by status and trigger (retries are trigger=retry)",
    "counter",
    () => attempts.map(({ status, trigger, value }) => ({ labels: { status, trigger }, value })),
  );
  const duration = new Buckets(
    "mission_control_attempt_duration_seconds",
    "How long an attempt's handler ran",
    SECONDS,
  );
  const lag = new Buckets(
    "mission_control_fire_lag_seconds",
    "From a run's scheduled instant to its handler's start (first attempts of scheduled runs)",
    LAG_SECONDS,
  );
  for (const h of [duration, lag])
    register(registry, h.name, h.help, "histogram", () => h.values());
  new Gauge({
    name: "mission_control_tasks",
    help: "Tasks, by whether they are enabled",
    labelNames: ["state"] as const,
    registers: [registry],
    collect() {
      let enabled = 0;
      const all = tasks();
      for (const t of all) if (t.enabled) enabled++;
      this.set({ state: "enabled" }, enabled);
      this.set({ state: "disabled" }, all.length - enabled);
    },
  });
  const delivered = new Counter({
    name: "mission_control_outputs_delivered_total",
    help: "Outputs saved and posted by every sink",
    registers: [registry],
  });
  const alerts = new Counter({
    name: "mission_control_alerts_total",
    help: "Failure alerts (kind=failed) and recovery notes (kind=recovered) sent",
    labelNames: ["kind"] as const,
    registers: [registry],
  });
  return {
    registry,
    attempt(e) {
      let byTrigger = attemptsBy.get(e.status);
      if (!byTrigger) {
        byTrigger = new Map();
        attemptsBy.set(e.status, byTrigger);
      }
      let count = byTrigger.get(e.trigger);
      if (!count) {
        const added = { status: e.status, trigger: e.trigger, value: 0 };
        attempts.push(added);
        count = added;
        byTrigger.set(e.trigger, count);
      }
      count.value++;
      duration.observe(e.durationMs / 1000);
      if (e.trigger === "schedule" && e.attempt === 1) {
        const started = startedAt.parse(e.ts) - e.durationMs;
        lag.observe(Math.max(0, started - scheduledAt.parse(e.scheduledFor)) / 1000);
      }
    },
    sink: {
      name: "metrics",
      async publish() {
        delivered.inc();
      },
      async alert() {
        alerts.inc({ kind: "failed" });
      },
      async recovered() {
        alerts.inc({ kind: "recovered" });
      },
    },
  };
}
