import type { z } from "zod";
import { ValidationError } from "./errors.ts";

// User input checked against a zod schema whose messages name the field, what is allowed and
// an example: the first problem becomes a ValidationError an adapter prints as it is.

/** zod's first issue as a ValidationError naming the field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  // parseSchedule, inside a transform, throws its own ValidationError straight through.
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const name = issue?.path.join(".") || "input";
  if (issue?.code === "unrecognized_keys") {
    throw new ValidationError(name, `unknown field(s): ${issue.keys.join(", ")}`);
  }
  const message = issue?.message ?? "invalid";
  // Messages written above already start with the field; zod's own do not.
  const m = /^([\w.]+): (.*)$/.exec(message);
  if (m) throw new ValidationError(m[1] as string, m[2] as string);
  throw new ValidationError(name, message);
}
