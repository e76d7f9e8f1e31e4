import { once } from "node:events";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Client, Events } from "discord.js";
import { createApp } from "../src/app.ts";
import { createDiscordClient, createDiscordSinks } from "../src/discord/bot.ts";
import { nonceFor } from "../src/discord/channel-sink.ts";
import { loadConfig } from "../src/shared/config.ts";
import { cronTasks, noopHandler, writeDataDir } from "./fixtures.ts";
import { sleepUntil, startTsxHelper, tempDir } from "./lib.ts";
import { devNullLogger } from "./logger.ts";
import { cpuMs, type EverySecond, measureEverySecond, oneLine } from "./sustained.ts";

// Posting to Discord: `tasks` tasks every second, each run's one line of markdown saved and
// posted through the real discord.js client and the real channel sink (delivery journal
// included) to the test suite's fake Discord on 127.0.0.1, in another process. Beside it, in the
// same process, the bare alternative: the same discord.js client sending the same messages
// (content, nonce, mentions) with `channel.send`, as many each second, and nothing else.

export interface PostingArgs {
  tasks: number;
  seconds: number;
  /** Unmeasured seconds before each of the two: the JIT warms up the same way for both. */
  warmUp: number;
}

export interface PostingResult {
  ours: EverySecond;
  /** CPU ms per 1,000 messages of the bare loop, one figure per second. */
  barePer1000: number[];
  bareSent: number;
  bareFailed: number;
}

const HERE = dirname(fileURLToPath(import.meta.url));
/** The TypeScript source, whether this runs built (dist/bench) or through tsx (bench/). */
const SERVER = join(
  HERE,
  import.meta.url.endsWith(".js") ? "../../bench" : ".",
  "fake-discord-server.ts",
);

interface Fake {
  url: string;
  token: string;
  guildId: string;
  channelId: string;
  stop(): Promise<void>;
}

function startFake(): Promise<Fake> {
  return startTsxHelper<Omit<Fake, "stop">>(SERVER);
}

async function login(client: Client, token: string): Promise<void> {
  const ready = once(client, Events.ClientReady);
  await client.login(token);
  await ready;
}

export async function postingChild(a: PostingArgs): Promise<PostingResult> {
  const fake = await startFake();
  const dir = await tempDir();
  const log = devNullLogger();
  const config = loadConfig({
    DATA_DIR: dir.path,
    DISCORD_TOKEN: fake.token,
    DISCORD_API_URL: fake.url,
    DISCORD_GUILD_ID: fake.guildId,
    DEFAULT_TIMEZONE: "UTC",
    MIN_INTERVAL_SECONDS: "1",
  });
  const client = createDiscordClient(config);
  await login(client, fake.token);

  // Ours: the scheduler, runner, file sink, execution log, history and the channel sink.
  const tasks = cronTasks(a.tasks, "* * * * * *", Date.now()).map((t) => ({
    ...t,
    guildId: fake.guildId,
    channelId: fake.channelId,
  }));
  await writeDataDir(dir.path, { tasks });
  const counts = new Map<number, number>();
  const app = await createApp({
    config,
    log,
    handlers: [
      noopHandler(
        (due) => counts.set(due, (counts.get(due) ?? 0) + 1),
        (ctx) => oneLine(ctx.task.id, ctx.scheduledFor.getTime()),
      ),
    ],
    sinks: (parts) => createDiscordSinks(client, log, parts),
  });
  await app.scheduler.start();
  const ours = await measureEverySecond(a.tasks, a.seconds, counts, a.warmUp);
  await app.close(10_000);

  // Bare: the same messages, as many a second, straight through channel.send.
  const channel = await client.channels.fetch(fake.channelId);
  if (!channel?.isSendable()) throw new Error("the fake Discord's channel is not sendable");
  const result: PostingResult = { ours, barePer1000: [], bareSent: 0, bareFailed: 0 };
  const first = (Math.ceil(Date.now() / 1000) + 1 + a.warmUp) * 1000;
  const inFlight: Promise<unknown>[] = [];
  for (let s = -a.warmUp; s < a.seconds; s++) {
    const due = first + s * 1000;
    await sleepUntil(due);
    const cpu = cpuMs();
    let sent = 0;
    const second = Promise.all(
      tasks.map((t) =>
        channel
          .send({
            content: oneLine(t.id, due),
            nonce: nonceFor(`bare/${t.id}@${due}`, 0),
            enforceNonce: true,
            allowedMentions: { parse: ["users"] },
          })
          .then(
            () => sent++,
            () => result.bareFailed++,
          ),
      ),
    );
    inFlight.push(second);
    await sleepUntil(due + 1000);
    if (s >= 0) {
      result.barePer1000.push(sent ? (cpuMs() - cpu) / (sent / 1000) : Number.NaN);
      result.bareSent += sent;
    }
  }
  await Promise.all(inFlight);
  await client.destroy();
  await fake.stop();
  await dir.remove();
  return result;
}
