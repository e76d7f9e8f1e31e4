import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { REST, Routes, type Shard, ShardingManager } from "discord.js";
import { loadManagerConfig } from "./shared/config.ts";
import { loadEnvFile } from "./shared/env-file.ts";
import { StartupError } from "./shared/errors.ts";

// `npm run start:sharded`: one bot process per discord.js shard (Discord requires sharding past
// 2,500 servers), started, watched and restarted by discord.js's ShardingManager. Each process
// is `npm start` told its shard (SHARDS and SHARD_COUNT, see config.ts).

const say = (line: string) => process.stdout.write(`${line}\n`);

/** The bot's entry beside this one: dist/src/main.js when built, src/main.ts through tsx. */
const MAIN = fileURLToPath(
  new URL(`./main${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
);

/** Discord's recommended shard count, asked through DISCORD_API_URL when set. */
async function recommendedShards(token: string, api: string | undefined): Promise<number> {
  const rest = new REST(api ? { api } : {}).setToken(token);
  try {
    const { shards } = (await rest.get(Routes.gatewayBot())) as { shards: number };
    return shards;
  } catch (err) {
    throw new StartupError(
      `Could not ask Discord how many shards to run: ${(err as Error).message}. Check DISCORD_TOKEN (and DISCORD_API_URL if set), or set SHARD_COUNT.`,
    );
  }
}

async function main(): Promise<void> {
  loadEnvFile();
  const config = loadManagerConfig(process.env);
  if (!config.DISCORD_TOKEN)
    throw new StartupError(
      "start:sharded needs DISCORD_TOKEN: shards divide the bot's Discord gateway connection, so without Discord there is nothing to shard (npm start runs headless)",
    );
  if (!config.DATABASE_URL)
    throw new StartupError(
      "start:sharded needs DATABASE_URL: shards are separate processes and share their data through PostgreSQL (see README)",
    );
  const totalShards =
    config.SHARD_COUNT ?? (await recommendedShards(config.DISCORD_TOKEN, config.DISCORD_API_URL));
  const manager = new ShardingManager(MAIN, {
    totalShards,
    respawn: true,
    token: config.DISCORD_TOKEN,
    // Through tsx (the tests), each shard needs the same loader.
    execArgv: process.execArgv,
  });
  let stopping = false;
  const name = (shard: Shard) => `shard ${shard.id} of ${totalShards}`;
  // Each shard is a child process (the manager's default mode), still shard.process at its death.
  manager.on("shardCreate", (shard) => {
    shard.on("spawn", () => {
      say(`${name(shard)}: started (pid ${shard.process?.pid})`);
      // Started by the spawn loop after a stop began: it goes too.
      if (stopping) shard.process?.kill("SIGTERM");
    });
    shard.on("death", () => {
      const how = shard.process?.signalCode ?? `exit code ${shard.process?.exitCode}`;
      say(`${name(shard)}: died (${how})${stopping ? "" : "; starting it again"}`);
    });
  });

  // Each shard stops as `npm start` does (runs in progress finish); then the manager exits.
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    manager.respawn = false;
    const running = manager.shards
      .map((shard) => shard.process)
      .filter((child) => child && child.exitCode === null && child.signalCode === null);
    await Promise.all(
      running.map(
        (child) =>
          new Promise((resolve) => {
            child?.once("exit", resolve);
            child?.kill("SIGTERM");
          }),
      ),
    );
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());

  say(`Starting ${totalShards} shard${totalShards === 1 ? "" : "s"} of ${MAIN}`);
  // Not waiting for each to be ready: a shard that dies on its way up is started again like any.
  await manager.spawn({ timeout: -1 });
}

main().catch((err) => {
  console.error(err instanceof StartupError ? err.message : err);
  process.exit(1);
});
