import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { OutputSink } from "../outputs/sink.ts";
import type { Execution } from "../store/execution.ts";
import type { Task } from "../tasks/model.ts";

// Prometheus metrics for GET /metrics: one registry per app (tests build their own), fed by
// the runner's attempts and by a sink placed after the others, so an output counts as
// delivered only once every sink before it took it.

export interface Metrics {
  registry: Registry;
  /** The runner's attempt hook. */
  attempt(e: Execution): void;
  /** Counts outputs delivered and alerts sent; goes last among the sinks. */
  sink: OutputSink;
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export function createMetrics(tasks: () => readonly Task[]): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "mission_control_process_" });
  const attempts = new Counter({
    name: "mission_control_attempts_total",
    help: "Attempts of task runs, by status and trigger (retries are trigger=retry)",
    labelNames: ["status", "trigger"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "mission_control_attempt_duration_seconds",
    help: "How long an attempt's handler ran",
    buckets: SECONDS,
    registers: [registry],
  });
  const lag = new Histogram({
    name: "mission_control_fire_lag_seconds",
    help: "From a run's scheduled instant to its handler's start (first attempts of scheduled runs)",
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 60],
    registers: [registry],
  });
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
      attempts.inc({ status: e.status, trigger: e.trigger });
      duration.observe(e.durationMs / 1000);
      if (e.trigger === "schedule" && e.attempt === 1) {
        const started = Date.parse(e.ts) - e.durationMs;
        lag.observe(Math.max(0, started - Date.parse(e.scheduledFor)) / 1000);
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
