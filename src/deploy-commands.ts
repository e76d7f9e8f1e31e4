import { REST, Routes } from "discord.js";
import { createCommands } from "../commands/index.ts";
import { registerCommands } from "./discord/register.ts";
import { loadConfig } from "./shared/config.ts";
import { loadEnvFile } from "./shared/env-file.ts";
import { createLogger } from "./shared/logger.ts";
import { DEFAULT_HANDLERS_DIR, loadHandlers } from "./tasks/handler.ts";

// `npm run deploy-commands`: registers the slash commands without starting the bot (the bot
// also does this at start, when they changed).

loadEnvFile();
try {
  const commands = createCommands(await loadHandlers(DEFAULT_HANDLERS_DIR));
  const config = loadConfig(process.env);
  if (!config.DISCORD_TOKEN)
    throw new Error("DISCORD_TOKEN is not set: put the bot token in .env (see .env.example)");
  const rest = new REST(config.DISCORD_API_URL ? { api: config.DISCORD_API_URL } : {}).setToken(
    config.DISCORD_TOKEN,
  );
  const app = (await rest.get(Routes.currentApplication())) as { id: string };
  const log = createLogger("warn");
  const outcome = await registerCommands(rest, app.id, commands, config.DISCORD_GUILD_ID, log);
  const where = config.DISCORD_GUILD_ID
    ? `server ${config.DISCORD_GUILD_ID}`
    : "all servers (global commands can take up to an hour to appear)";
  console.log(
    outcome === "registered"
      ? `Registered /${commands.map((c) => c.data.name).join(", /")} for ${where}.`
      : `The commands for ${where} are already up to date.`,
  );
} catch (err) {
  console.error(`Could not register the commands: ${(err as Error).message}`);
  process.exitCode = 1;
}
