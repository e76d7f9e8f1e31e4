import { z } from "zod";
import { defineHandler } from "../src/handler.ts";

export default defineHandler({
  name: "test",
  description: "Proves the pipeline: reports that the task ran, and when (failWith makes it fail)",
  options: z.object({
    message: z.string().max(1500, "options.message: at most 1,500 characters").optional(),
    failWith: z
      .string()
      .max(500)
      .optional()
      .describe("throw this error instead: try retries and alerts without breaking anything real"),
  }),
  run({ task, options, scheduledFor, clock, trigger, attempt }) {
    if (options.failWith) throw new Error(options.failWith);
    const lines = [
      `**${task.name}** ran (${trigger}, attempt ${attempt}).`,
      `Scheduled for ${scheduledFor.toISOString()}, started ${new Date(clock.now()).toISOString()}.`,
    ];
    if (options.message) lines.push("", options.message);
    return lines.join("\n");
  },
});
