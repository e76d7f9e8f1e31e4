import { z } from "zod";
import { defineHandler } from "../src/tasks/handler.ts";
import { sleep } from "../src/time/clock.ts";

export default defineHandler({
  name: "test",
  description: "Proves the pipeline: reports that the task ran, and when (failWith makes it fail)",
  options: z.object({
    message: z
      .string()
      .max(1500, "options.message: at most 1,500 characters")
      .optional()
      .meta({ description: "a line added to the report", command: true, example: "hello" }),
    failWith: z.string().max(500).optional().meta({
      description:
        "throw this error instead: try retries and alerts without breaking anything real",
      example: "disk full",
    }),
    delaySeconds: z
      .number("options.delaySeconds: seconds from 0 to 600 — e.g. 5")
      .min(0)
      .max(600)
      .optional()
      .meta({
        description: "take this long, like a slow task (it stops early when aborted)",
        example: 5,
      }),
    leakRejection: z.boolean().optional().meta({
      description: "leave a rejected promise unhandled: shows the process shrugs it off",
      example: true,
    }),
  }),
  async run({ task, options, scheduledFor, clock, trigger, attempt, signal }) {
    if (options.delaySeconds) await sleep(clock, options.delaySeconds * 1000, signal);
    if (options.leakRejection)
      void Promise.reject(new Error("a promise the handler forgot to handle"));
    if (options.failWith) throw new Error(options.failWith);
    const lines = [
      `**${task.name}** ran (${trigger}, attempt ${attempt}).`,
      `Scheduled for ${scheduledFor.toISOString()}, started ${new Date(clock.now()).toISOString()}.`,
    ];
    if (options.message) lines.push("", options.message);
    return lines.join("\n");
  },
});
