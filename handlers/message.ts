import { z } from "zod";
import { defineHandler } from "../src/tasks/handler.ts";

export default defineHandler({
  name: "message",
  description: "Posts a fixed message: scheduled announcements and nudges",
  options: z.object({
    message: z
      .string("options.message: the text to post — e.g. Stand-up in 5 minutes!")
      .trim()
      .min(1, "options.message: must not be empty — e.g. Stand-up in 5 minutes!")
      .max(4000, "options.message: at most 4,000 characters")
      .meta({
        description: "the message to post (message handler)",
        command: true,
        example: "Stand-up in 5 minutes!",
      }),
  }),
  run: ({ options }) => options.message,
});
