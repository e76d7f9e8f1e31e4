import type {
  AutocompleteInteraction,
  ChatInputCommandInteraction,
  Client,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
} from "discord.js";
import type { Config } from "../shared/config.ts";
import type { Logger } from "../shared/logger.ts";
import type { ItemService } from "../tasks/items.ts";
import type { ServerService } from "../tasks/servers.ts";
import type { TaskService } from "../tasks/task-service.ts";

/** What a command gets besides its interaction. */
export interface CommandContext {
  service: TaskService;
  items: ItemService;
  servers: ServerService;
  config: Config;
  client: Client;
  log: Logger;
}

/** One top-level slash command: its definition, what it does, and its autocomplete. */
export interface Command {
  data: RESTPostAPIChatInputApplicationCommandsJSONBody;
  execute(interaction: ChatInputCommandInteraction, ctx: CommandContext): Promise<void>;
  autocomplete?(interaction: AutocompleteInteraction, ctx: CommandContext): Promise<void>;
}
