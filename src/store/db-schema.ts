import { z } from "zod";
import { GoalSchema, ReminderSchema, ServerSchema, TaskSchema } from "../tasks/model.ts";

export const DbSchema = z.object({
  // Checked against the code's own version by openStore, which migrates or refuses.
  schemaVersion: z.number().int().min(1),
  tasks: z.array(TaskSchema).default([]),
  goals: z.array(GoalSchema).default([]),
  reminders: z.array(ReminderSchema).default([]),
  servers: z.array(ServerSchema).default([]),
});
export type Db = z.infer<typeof DbSchema>;
