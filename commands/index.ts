import type { Command } from "../src/discord/command.ts";
import goal from "./goal.ts";
import reminder from "./reminder.ts";
import task from "./task.ts";

// The one list of slash commands: the bot routes to them and `npm run deploy-commands`
// registers them.
export const commands: Command[] = [task, goal, reminder];
