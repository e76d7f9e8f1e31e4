import type { Command } from "../src/discord/command.ts";
import type { Handler } from "../src/tasks/handler.ts";
import { itemCommand } from "./items.ts";
import settings from "./settings.ts";
import { createTaskCommand } from "./task.ts";

// The one list of slash commands: the bot routes to them and `npm run deploy-commands`
// registers them. /task has an option for each handler option that asks for one, so the list
// is made from the handlers.
export function createCommands(handlers: readonly Handler[]): Command[] {
  return [createTaskCommand(handlers), itemCommand("goal"), itemCommand("reminder"), settings];
}
