import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCommands } from "../commands/index.ts";
import { alertButtonRefusal } from "../src/discord/access.ts";
import { capped, MAX_POSTS_PER_RUN, nonceFor, withLateNote } from "../src/discord/channel-sink.ts";
import { taskEmbed } from "../src/discord/format.ts";
import { splitForDiscord } from "../src/discord/markdown-split.ts";
import { canonical } from "../src/discord/register.ts";
import type { RunOutput } from "../src/outputs/sink.ts";
import { DEFAULT_HANDLERS_DIR, loadHandlers } from "../src/tasks/handler.ts";
import { TaskSchema } from "../src/tasks/model.ts";
import { type FakeDiscord, startFakeDiscord } from "./support/fake-discord.ts";
import { runScript, startMain } from "./support/process.ts";
import { tempDir } from "./support/world.ts";

const task = TaskSchema.parse({
  guildId: "local",
  id: "brief",
  name: "Brief",
  handler: "test",
  schedule: { type: "daily", time: "07:00" },
  timezone: "Europe/Paris",
  ownerId: "111111111111111111",
  createdAt: "2026-11-26T00:00:00.000Z",
  updatedAt: "2026-11-26T00:00:00.000Z",
});

const output = (scheduled: string, started: string): RunOutput => ({
  task,
  runId: `brief@${scheduled}`,
  markdown: "Good morning",
  scheduledFor: new Date(scheduled),
  startedAt: new Date(started),
  attempt: 1,
});

describe("channel posts", () => {
  it("say when they are more than a minute late, in the task's zone", () => {
    expect(withLateNote(output("2026-11-26T06:00:00Z", "2026-11-26T06:00:59Z"))).toBe(
      "Good morning",
    );
    expect(withLateNote(output("2026-11-26T06:00:00Z", "2026-11-26T08:12:00Z"))).toBe(
      "_(scheduled 07:00, sent 09:12)_\nGood morning",
    );
    expect(withLateNote(output("2026-11-25T06:00:00Z", "2026-11-26T08:12:00Z"))).toMatch(
      /^_\(scheduled 2026-11-25 07:00, sent 09:12\)_/,
    );
  });

  it("carry a nonce fixed by run and chunk, within Discord's 25 characters", () => {
    expect(nonceFor("brief@x", 0)).toBe(nonceFor("brief@x", 0));
    expect(nonceFor("brief@x", 0)).not.toBe(nonceFor("brief@x", 1));
    expect(nonceFor("brief@x", 0)).not.toBe(nonceFor("brief@y", 0));
    expect(nonceFor("brief@x", 0)).toHaveLength(25);
  });
});

describe("a huge output", () => {
  it("is posted as at most 10 messages, the last saying where the rest is", () => {
    const chunks = capped(splitForDiscord("word ".repeat(200_000)), "brief");
    expect(chunks).toHaveLength(MAX_POSTS_PER_RUN);
    expect(chunks.every((c) => c.length <= 2000)).toBe(true);
    expect(chunks.at(-1)).toMatch(/and \d+ more messages, not posted .* outputs\/brief\//);
    expect(capped(["a", "b"], "brief")).toEqual(["a", "b"]);
  });
});

describe("alert buttons", () => {
  it("act for the owner, ALERT_USER_ID and ADMIN_USER_IDS only", () => {
    const config = { ALERT_USER_ID: "222222222222222222", ADMIN_USER_IDS: ["333333333333333333"] };
    expect(alertButtonRefusal("111111111111111111", task, config)).toBeNull();
    expect(alertButtonRefusal("222222222222222222", task, config)).toBeNull();
    expect(alertButtonRefusal("333333333333333333", task, config)).toBeNull();
    expect(alertButtonRefusal("444444444444444444", task, config)).toMatch(/Only the task's owner/);
  });
});

describe("command registration", () => {
  it("sees a definition as unchanged whatever Discord adds to it", async () => {
    const commands = createCommands(await loadHandlers(DEFAULT_HANDLERS_DIR));
    const local = commands.map((c) => c.data);
    const fromDiscord = local.map((c) => ({
      ...c,
      id: "1",
      application_id: "2",
      version: "3",
      guild_id: "4",
      nsfw: false,
      description_localizations: null,
    }));
    expect(JSON.stringify(canonical(fromDiscord))).toBe(JSON.stringify(canonical(local)));
    const changed = structuredClone(fromDiscord);
    (changed[0] as { description: string }).description = "something else";
    expect(JSON.stringify(canonical(changed))).not.toBe(JSON.stringify(canonical(local)));
  });

  describe("npm run deploy-commands", () => {
    let discord: FakeDiscord;
    let dir: Awaited<ReturnType<typeof tempDir>>;
    beforeAll(async () => {
      discord = await startFakeDiscord();
      dir = await tempDir();
    });
    afterAll(async () => {
      await discord.close();
      await dir.remove();
    });

    it("a wrong token stops the start with one clear line, and the token is not shown", async () => {
      const wrong = "MTIz.wrong-token.for-this-test";
      const p = startMain(dir.path, {
        DISCORD_TOKEN: wrong,
        DISCORD_API_URL: discord.url,
        DATA_DIR: `${dir.path}/data`,
      });
      expect((await p.exited).code).toBe(1);
      expect(p.output()).toMatch(/Could not connect to Discord: .*Check DISCORD_TOKEN/);
      expect(p.output()).not.toContain(wrong);
    });

    it("registers to the guild, then reports them up to date", async () => {
      const env = {
        DISCORD_TOKEN: discord.token,
        DISCORD_API_URL: discord.url,
        DISCORD_GUILD_ID: discord.guildId,
      };
      const first = await runScript("deploy-commands.ts", dir.path, env);
      expect(first.stdout.trim()).toBe(
        `Registered /task, /goal, /reminder, /settings for server ${discord.guildId}.`,
      );
      expect(discord.commandPuts).toBe(1);
      const second = await runScript("deploy-commands.ts", dir.path, env);
      expect(second.stdout.trim()).toBe(
        `The commands for server ${discord.guildId} are already up to date.`,
      );
      expect(discord.commandPuts).toBe(1);
      const noToken = await runScript("deploy-commands.ts", dir.path, {});
      expect(noToken.code).toBe(1);
      expect(noToken.stderr).toMatch(/DISCORD_TOKEN is not set/);
    });
  });
});

describe("task embed", () => {
  const at = Date.parse("2026-11-28T09:00:00Z");
  const task = (schedule: object) =>
    TaskSchema.parse({
      guildId: "local",
      id: "t",
      name: "t",
      handler: "test",
      schedule,
      timezone: "UTC",
      createdAt: "2026-11-28T00:00:00Z",
      updatedAt: "2026-11-28T00:00:00Z",
    });
  const runs = [0, 5_000].map((d) => ({ at: new Date(at + d), skipped: false, dstNote: null }));
  const nextRuns = (schedule: object) =>
    JSON.stringify(
      taskEmbed(task(schedule), runs)
        .toJSON()
        .fields?.find((f) => f.name === "Next runs"),
    );

  it("shows next runs to the second when they are seconds apart, to the minute otherwise", () => {
    expect(nextRuns({ type: "interval", every: 5, unit: "seconds" })).toMatch(/<t:\d+:T>/);
    expect(nextRuns({ type: "daily", time: "09:00" })).toMatch(/<t:\d+:f>/);
    expect(nextRuns({ type: "daily", time: "09:00" })).not.toMatch(/<t:\d+:T>/);
  });
});
