import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readStored } from "../src/store/store.ts";
import {
  type FakeDiscord,
  type InteractionReply,
  PERMISSIONS,
  type SentMessage,
  startFakeDiscord,
} from "./support/fake-discord.ts";
import { cli, type Proc, startMain } from "./support/process.ts";
import { readLogLines, readOutputs, tempDir } from "./support/world.ts";

// The bot as it runs in production (src/main.ts, the same env), against a fake Discord on
// 127.0.0.1. Tests run in order against one bot; each uses its own task ids.

let discord: FakeDiscord;
let dir: Awaited<ReturnType<typeof tempDir>>;
let bot: Proc;
const dataDir = () => join(dir.path, "data");

function env(): Record<string, string> {
  return {
    DISCORD_TOKEN: discord.token,
    DISCORD_API_URL: discord.url,
    DISCORD_GUILD_ID: discord.guildId,
    BRIEFING_CHANNEL_ID: discord.channels.briefings,
    ALERT_USER_ID: discord.admin.id,
    DATA_DIR: dataDir(),
    DEFAULT_TIMEZONE: "UTC",
    MIN_INTERVAL_SECONDS: "1",
    MANUAL_RUN_INTERVAL_SECONDS: "0",
    LOG_LEVEL: "debug",
  };
}

async function startBot(): Promise<void> {
  bot = startMain(dir.path, env());
  await bot.waitFor(/connected to Discord as/, 30_000);
  // Then the scheduler starts and prints the task table, in one write.
  await bot.waitFor(/ID\s+HANDLER\s+SCHEDULE/);
}

async function stopBot(): Promise<void> {
  bot.child.kill("SIGTERM");
  expect((await bot.exited).code).toBe(0);
}

/** The interaction's final answer: a reply, an update, or the edit of a deferred reply. */
async function answer(id: string): Promise<InteractionReply> {
  return discord.waitFor(() => {
    const all = discord.replies(id);
    const first = all[0];
    if (!first) return undefined;
    if (first.type === 5) return all.find((r) => r.type === "edit");
    return first;
  });
}

async function slash(
  name: string,
  sub: string | null,
  options: Record<string, unknown> = {},
  as?: Parameters<FakeDiscord["command"]>[3],
) {
  const id = discord.command(name, sub, options, as);
  const reply = await answer(id);
  return { id, reply, text: JSON.stringify(reply.data) };
}

const db = async () => readStored(dataDir());
const posts = (channel: string) => discord.messages.filter((m) => m.channel_id === channel);
const dmsTo = (userId: string) => discord.messages.filter((m) => m.recipient === userId);
const logLines = () => readLogLines(dataDir());

beforeAll(async () => {
  discord = await startFakeDiscord();
  dir = await tempDir();
  await startBot();
}, 60_000);
afterAll(async () => {
  if (bot.child.exitCode === null) await stopBot();
  await discord.close();
  await dir.remove();
});

describe("the bot on Discord", () => {
  it("registers its four guild commands, Manage Server by default, guild-only", () => {
    const cmds = discord.registeredCommands();
    expect(cmds.map((c) => c.name)).toEqual(["task", "goal", "reminder", "settings"]);
    for (const c of cmds) {
      expect(c.default_member_permissions).toBe(String(PERMISSIONS.ManageGuild));
      expect(c.contexts).toEqual([0]);
    }
    expect(discord.commandPuts).toBe(1);
    // The gateway URL came from the REST base, and the bot identified once.
    expect(discord.requests.some((r) => r.path === "/gateway/bot")).toBe(true);
    expect(discord.identifies).toBe(1);
  });

  it("adds a task privately, with the next three runs as Discord timestamps", async () => {
    const { reply, text } = await slash("task", "add", {
      id: "standup",
      handler: "message",
      schedule: "daily 09:00",
      message: "Stand-up time!",
      channel: discord.channels.general,
    });
    expect(reply.type).toBe(4);
    expect(reply.data.flags).toBe(64);
    expect(text).toContain("Added standup");
    expect(text.match(/<t:\d+:f>/g)).toHaveLength(3);
    expect(text).toMatch(/<t:\d+:R>/);
    const task = (await db()).tasks.find((t: { id: string }) => t.id === "standup");
    expect(task).toMatchObject({
      ownerId: discord.admin.id,
      channelId: discord.channels.general,
      options: { message: "Stand-up time!" },
    });
  });

  it("warns at once when the bot cannot post in the chosen channel", async () => {
    const { text } = await slash("task", "add", {
      id: "locked-news",
      handler: "test",
      schedule: "daily 10:00",
      channel: discord.channels.locked,
    });
    expect(text).toMatch(/missing View Channel, Send Messages.*runs will fail/i);
    await slash("task", "delete", { id: "locked-news" });
  });

  it("refuses bad input privately, saying how to write it, and stores nothing", async () => {
    const before = (await db()).tasks.length;
    for (const [schedule, message] of [
      ["daily 25:00", /not a time of day.*daily 09:00/],
      ["weekly funday 10:00", /funday.*is not a day/],
      ["every 0m", /at least 1/],
    ] as const) {
      const { reply, text } = await slash("task", "add", { id: "bad", handler: "test", schedule });
      expect(reply.data.flags).toBe(64);
      expect(text).toMatch(message);
    }
    expect(
      (await slash("task", "add", { id: "standup", handler: "test", schedule: "daily 09:00" }))
        .text,
    ).toMatch(/already exists/);
    expect(
      (
        await slash("task", "add", {
          id: "x",
          handler: "test",
          schedule: "daily 09:00",
          timezone: "Mars/Base",
        })
      ).text,
    ).toMatch(/not an IANA time zone/);
    expect((await db()).tasks.length).toBe(before);
  });

  it("autocompletes task ids and handler names, filtered, at most 25", async () => {
    for (let n = 0; n < 30; n++)
      await slash("task", "add", { id: `bulk-${n}`, handler: "test", schedule: "daily 03:00" });
    const ids = discord.autocomplete("task", "show", { id: "bulk-1" }, "id");
    const idReply = await answer(ids);
    expect(idReply.type).toBe(8);
    const choices = (idReply.data.choices as { value: string }[]).map((c) => c.value);
    expect(choices[0]).toBe("bulk-1");
    expect(choices.every((c) => c.includes("bulk-1"))).toBe(true);
    const all = await answer(discord.autocomplete("task", "show", { id: "" }, "id"));
    expect((all.data.choices as unknown[]).length).toBe(25);
    const handlers = await answer(
      discord.autocomplete("task", "add", { handler: "da" }, "handler"),
    );
    expect((handlers.data.choices as { value: string }[]).map((c) => c.value)).toEqual([
      "daily-briefing",
    ]);
  });

  it("lists tasks page by page", async () => {
    const { reply } = await slash("task", "list");
    const embed = (reply.data.embeds as { title: string; footer: { text: string } }[])[0];
    expect(embed?.title).toMatch(/^Tasks \(3\d\)$/);
    expect(embed?.footer.text).toBe("Page 1 of 4");
    const message: SentMessage = {
      id: "1",
      channel_id: discord.channels.general,
      content: "",
      embeds: reply.data.embeds as unknown[],
      components: reply.data.components as unknown[],
    };
    const next = await answer(discord.button("task-list:1", message));
    expect(next.type).toBe(7);
    expect((next.data.embeds as { footer: { text: string } }[])[0]?.footer.text).toBe(
      "Page 2 of 4",
    );
    for (let n = 0; n < 30; n++) await slash("task", "delete", { id: `bulk-${n}` });
  });

  it("shows, edits, disables, enables and deletes", async () => {
    expect((await slash("task", "show", { id: "standup" })).text).toContain(
      "every day at 09:00 (UTC) — `daily 09:00`",
    );
    const edited = await slash("task", "edit", {
      id: "standup",
      schedule: "every weekday at 9:30am",
      retries: 0,
    });
    expect(edited.text).toContain("Updated standup");
    // What was understood, in words, and the compact form.
    expect(edited.text).toContain("every weekday at 09:30 (UTC) — `weekly mon-fri 09:30`");
    expect((await db()).tasks.find((t: { id: string }) => t.id === "standup")).toMatchObject({
      schedule: { type: "weekly", time: "09:30" },
      retry: { maxRetries: 0 },
      options: { message: "Stand-up time!" },
    });
    expect((await slash("task", "disable", { id: "standup" })).text).toContain("Disabled standup");
    expect((await db()).tasks.find((t: { id: string }) => t.id === "standup")?.enabled).toBe(false);
    expect((await slash("task", "enable", { id: "standup" })).text).toContain("Enabled standup");
    expect((await slash("task", "skip", { id: "standup" })).text).toContain("will be skipped");
    expect((await slash("task", "delete", { id: "standup" })).text).toContain("Deleted `standup`");
    expect((await db()).tasks.some((t: { id: string }) => t.id === "standup")).toBe(false);
    expect((await slash("task", "show", { id: "standup" })).text).toContain(
      'no task with id \\"standup\\"',
    );
  });

  it("runs a task now (deferred), posts it, and shows its history", async () => {
    await slash("task", "add", {
      id: "hello",
      handler: "message",
      schedule: "daily 06:00",
      message: "Hello @everyone and <@&123>!",
    });
    const before = posts(discord.channels.briefings).length;
    const id = discord.command("task", "run", { id: "hello" });
    const reply = await answer(id);
    expect(discord.replies(id)[0]?.type).toBe(5);
    expect(JSON.stringify(reply.data)).toContain("success after 1 attempt");
    const post = posts(discord.channels.briefings).at(-1) as SentMessage;
    expect(posts(discord.channels.briefings).length).toBe(before + 1);
    expect(post.content).toBe("Hello @everyone and <@&123>!");
    expect(post.allowed_mentions).toEqual({ parse: ["users"] });
    expect(post.enforce_nonce).toBe(true);
    expect(post.nonce).toMatch(/^[0-9a-f]{25}$/);
    const history = await slash("task", "history", { id: "hello" });
    // Deferred: reading a history touches the disk, and Discord allows 3 s for a first answer.
    expect(discord.replies(history.id)[0]?.type).toBe(5);
    expect(history.text).toContain("History of hello");
    expect(history.text).toContain("100% of 1 runs");
  });

  it("a dry run shows the output privately and posts or counts nothing", async () => {
    const before = discord.messages.length;
    const { text } = await slash("task", "run", { id: "hello", dry_run: true });
    expect(text).toContain("dry run: success");
    expect(text).toContain("Hello @everyone");
    expect(discord.messages.length).toBe(before);
    expect(
      (await db()).tasks.find((t: { id: string }) => t.id === "hello")?.history.totalRuns,
    ).toBe(1);
  });

  it("manages goals and reminders", async () => {
    expect((await slash("goal", "add", { text: "Ship v1" })).text).toContain(
      "Added goal **#1**: Ship v1",
    );
    expect((await slash("goal", "list")).text).toContain("**#1** Ship v1");
    expect(
      (await slash("reminder", "add", { text: "Pay rent", due: "2026-01-01" })).text,
    ).toContain("(due 2026-01-01)");
    expect((await slash("reminder", "add", { text: "Bad", due: "tomorrow" })).text).toMatch(
      /due: \\"tomorrow\\" is not a date; use YYYY-MM-DD/,
    );
    expect((await slash("reminder", "list")).text).toMatch(
      /`2026-01-01` \(overdue by \d+ days\) Pay rent/,
    );
    expect((await slash("goal", "done", { id: 1 })).text).toContain("Done: **#1**");
    expect((await slash("goal", "remove", { id: 9 })).text).toContain('no goal with id \\"9\\"');
  });

  it("posts a seconds cron task to its channel on time", async () => {
    await slash("task", "add", {
      id: "tick",
      handler: "test",
      schedule: "*/2 * * * * *",
      channel: discord.channels.general,
      name: "Tick",
    });
    const post = await discord.waitFor(() =>
      posts(discord.channels.general).find((m) => m.content.includes("**Tick** ran (schedule")),
    );
    // The attempt's log line is written once the post is done.
    let lines: { ts: string; durationMs: number; scheduledFor: string }[] = [];
    await discord.waitFor(async () => {
      lines = (await logLines()).filter((e) => e.taskId === "tick" && e.trigger === "schedule");
      return lines.length > 0;
    });
    const [first] = lines as [(typeof lines)[number]];
    const late = Date.parse(first.ts) - first.durationMs - Date.parse(first.scheduledFor);
    expect(late).toBeLessThan(5_000);
    expect(post.content.length).toBeLessThanOrEqual(2000);
    await slash("task", "disable", { id: "tick" });
  });

  it("posts the daily briefing, split into messages of at most 2,000 characters, and saves it", async () => {
    for (let n = 0; n < 40; n++)
      await slash("goal", "add", {
        text: `Goal ${n}: ${"a long description of what matters ".repeat(3)}`,
      });
    await slash("task", "add", {
      id: "briefing",
      handler: "daily-briefing",
      schedule: "daily 07:00",
    });
    const before = posts(discord.channels.briefings).length;
    await slash("task", "run", { id: "briefing" });
    const sent = posts(discord.channels.briefings).slice(before);
    expect(sent.length).toBeGreaterThan(1);
    expect(sent.every((m) => m.content.length <= 2000)).toBe(true);
    expect(sent[0]?.content).toContain("# ☀️ Daily briefing");
    expect(sent.map((m) => m.content).join("\n")).toContain("Goal 39");
    const files = await readdir(join(dataDir(), "briefings", discord.guildId));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^\d{4}-\d{2}-\d{2}\.md$/);
  });

  it("a channel that refuses posts: retries, one DM alert, working buttons, then recovery", async () => {
    await slash("task", "add", {
      id: "news",
      handler: "test",
      schedule: "daily 05:00",
      channel: discord.channels.general,
      retries: 1,
      retry_delay: 1,
    });
    discord.fail(new RegExp(`^POST /channels/${discord.channels.general}/messages$`), {
      status: 403,
      code: 50013,
      message: "Missing Permissions",
    });
    const dmsBefore = dmsTo(discord.admin.id).length;
    const run1 = await slash("task", "run", { id: "news" });
    expect(run1.text).toMatch(/failure after 2 attempts.*Missing Permissions \(50013\)/);
    const alert = await discord.waitFor(() =>
      dmsTo(discord.admin.id)
        .slice(dmsBefore)
        .find((m) => JSON.stringify(m.embeds).includes("news")),
    );
    expect(JSON.stringify(alert.embeds)).toContain("Missing Permissions");
    expect(JSON.stringify(alert.embeds)).toContain("Task news failed in Test Server");
    expect(JSON.stringify(alert.components)).toContain(`alert:run:${discord.guildId}/news`);
    const attempts = (await logLines()).filter((e) => e.taskId === "news");
    expect(attempts.map((e) => [e.attempt, e.status])).toEqual([
      [1, "failure"],
      [2, "failure"],
    ]);
    // The output was saved even though Discord refused it.
    expect(await readOutputs(dataDir(), discord.guildId, "news")).toHaveLength(2);

    // Still broken: no second alert for the same incident.
    await slash("task", "run", { id: "news" });
    expect(
      dmsTo(discord.admin.id)
        .slice(dmsBefore)
        .filter((m) => JSON.stringify(m.embeds).includes("news")),
    ).toHaveLength(1);

    // Someone else's click is refused; the owner's "Run again" works once Discord accepts posts.
    const stranger = await answer(
      discord.button(`alert:run:${discord.guildId}/news`, alert, {
        user: discord.member,
        dm: true,
      }),
    );
    expect(JSON.stringify(stranger.data)).toMatch(/Only the task's owner/);
    discord.clearFaults();
    const again = await answer(
      discord.button(`alert:run:${discord.guildId}/news`, alert, { user: discord.admin, dm: true }),
    );
    expect(JSON.stringify(again.data)).toContain("ran again: success");
    await discord.waitFor(() =>
      dmsTo(discord.admin.id).find((m) => m.content.includes("`news` has recovered")),
    );
    const disabled = await answer(
      discord.button(`alert:disable:${discord.guildId}/news`, alert, {
        user: discord.admin,
        dm: true,
      }),
    );
    expect(JSON.stringify(disabled.data)).toContain("Disabled `news`");
    expect((await db()).tasks.find((t: { id: string }) => t.id === "news")?.enabled).toBe(false);
    // An old alert's button checks the task's current state.
    expect(
      JSON.stringify(
        (
          await answer(
            discord.button(`alert:disable:${discord.guildId}/news`, alert, {
              user: discord.admin,
              dm: true,
            }),
          )
        ).data,
      ),
    ).toContain("already disabled");
    await slash("task", "delete", { id: "news" });
    expect(
      JSON.stringify(
        (
          await answer(
            discord.button(`alert:run:${discord.guildId}/news`, alert, {
              user: discord.admin,
              dm: true,
            }),
          )
        ).data,
      ),
    ).toContain("no longer exists");
  });

  it("a DM that cannot be delivered (50007) is logged, never fatal", async () => {
    discord.fail(/^POST \/channels\/\d+\/messages$/, {
      status: 403,
      code: 50007,
      message: "Cannot send messages to this user",
    });
    discord.fail(/^POST \/users\/@me\/channels$/, {
      status: 403,
      code: 50007,
      message: "Cannot send messages to this user",
    });
    await slash("task", "add", {
      id: "broken",
      handler: "test",
      schedule: "daily 04:00",
      retries: 0,
      channel: discord.channels.locked,
    });
    const { text } = await slash("task", "run", { id: "broken" });
    expect(text).toMatch(/failure/);
    await bot.waitFor(/could not be delivered/);
    discord.clearFaults();
    expect(bot.child.exitCode).toBeNull();
    expect((await slash("goal", "list")).reply.type).toBe(4);
  });

  it("refuses a user without Manage Server, and commands in DMs; nothing changes", async () => {
    const before = await db();
    const refused = await slash(
      "task",
      "delete",
      { id: "hello" },
      { user: discord.member, permissions: PERMISSIONS.ViewChannel },
    );
    expect(refused.reply.data.flags).toBe(64);
    expect(refused.text).toMatch(/need the \*\*Manage Server\*\* permission/);
    const inDm = await slash("goal", "add", { text: "sneaky" }, { user: discord.admin, dm: true });
    expect(inDm.text).toMatch(/work in a server, not in DMs/);
    const auto = await answer(
      discord.autocomplete("task", "show", { id: "" }, "id", {
        user: discord.member,
        permissions: PERMISSIONS.ViewChannel,
      }),
    );
    expect(auto.data.choices).toEqual([]);
    const run = await slash(
      "task",
      "run",
      { id: "hello" },
      { user: discord.member, permissions: PERMISSIONS.ViewChannel },
    );
    expect(run.text).toMatch(/Manage Server/);
    const message: SentMessage = {
      id: "2",
      channel_id: discord.channels.general,
      content: "",
      embeds: [],
      components: [],
    };
    const page = await answer(
      discord.button("task-list:1", message, {
        user: discord.member,
        permissions: PERMISSIONS.ViewChannel,
      }),
    );
    expect(JSON.stringify(page.data)).toMatch(/Manage Server/);
    expect(await db()).toEqual(before);
  });

  it("waits out a 429 and retries a 5xx", async () => {
    discord.fail(
      /^POST \/channels\/\d+\/messages$/,
      { status: 429, message: "You are being rate limited.", retryAfter: 1 },
      1,
    );
    discord.fail(/^POST \/channels\/\d+\/messages$/, { status: 502, message: "Bad Gateway" }, 1);
    const before = posts(discord.channels.briefings).length;
    const { text } = await slash("task", "run", { id: "hello" });
    expect(text).toContain("success after 1 attempt");
    expect(posts(discord.channels.briefings).length).toBe(before + 1);
  });

  it("waits out a storm of 429s on one route", async () => {
    discord.fail(
      /^POST \/channels\/\d+\/messages$/,
      { status: 429, message: "You are being rate limited.", retryAfter: 0.2 },
      5,
    );
    const before = posts(discord.channels.briefings).length;
    const { text } = await slash("task", "run", { id: "hello" });
    expect(text).toContain("success after 1 attempt");
    expect(posts(discord.channels.briefings).length).toBe(before + 1);
  });

  it("rides out a burst of 5xx: discord.js retries the request, then the run is retried", async () => {
    await slash("task", "add", {
      id: "sturdy",
      handler: "message",
      schedule: "daily 05:30",
      message: "still here",
      retries: 2,
      retry_delay: 1,
    });
    discord.fail(
      /^POST \/channels\/\d+\/messages$/,
      { status: 500, message: "Internal Server Error" },
      6,
    );
    const { text } = await slash("task", "run", { id: "sturdy" });
    expect(text).toContain("success after 2 attempts");
    const attempts = (await logLines()).filter((e) => e.taskId === "sturdy");
    expect(attempts.map((e) => e.status)).toEqual(["failure", "success"]);
    expect(attempts[0]?.error).toMatch(/Internal Server Error/);
    expect(
      posts(discord.channels.briefings).filter((m) => m.content === "still here"),
    ).toHaveLength(1);
  });

  it("fails runs for a channel deleted under a task (10003), visible in history, with an alert", async () => {
    await slash("task", "add", {
      id: "doomed",
      handler: "test",
      schedule: "daily 05:45",
      channel: discord.channels.doomed,
      retries: 0,
    });
    discord.deleteChannel(discord.channels.doomed);
    const dmsBefore = dmsTo(discord.admin.id).length;
    const { text } = await slash("task", "run", { id: "doomed" });
    expect(text).toMatch(/failure after 1 attempt.*\(10003\) — the channel is gone/);
    expect((await slash("task", "history", { id: "doomed" })).text).toMatch(/10003/);
    await discord.waitFor(() =>
      dmsTo(discord.admin.id)
        .slice(dmsBefore)
        .find((m) => JSON.stringify(m.embeds).includes("doomed")),
    );
  });

  it("defers a slow command in time, finishes it while the gateway drops, then resumes", async () => {
    await slash("task", "add", {
      id: "slowpoke",
      handler: "test",
      schedule: "daily 05:50",
      retries: 0,
    });
    const edit = await cli(
      dir.path,
      env(),
      "tasks",
      "edit",
      "slowpoke",
      "--option",
      "delaySeconds=4",
    );
    expect(edit.code).toBe(0);
    const resumes = discord.resumes;
    const id = discord.command("task", "run", { id: "slowpoke" });
    await discord.waitFor(() => discord.replies(id)[0]?.type === 5);
    discord.dropGateway();
    expect(JSON.stringify((await answer(id)).data)).toContain("success after 1 attempt");
    await discord.waitFor(() => discord.connected() && discord.resumes > resumes, 30_000);
    expect((await slash("goal", "list")).reply.type).toBe(4);
  });

  it("keeps answering after the gateway drops", async () => {
    const resumes = discord.resumes;
    discord.dropGateway();
    await discord.waitFor(() => discord.connected() && discord.resumes > resumes, 30_000);
    expect((await slash("goal", "list")).reply.type).toBe(4);
  });

  it("after a restart every task is still there and scheduled, and commands are not re-registered", async () => {
    const tasksBefore = (await db()).tasks
      .filter((t: { guildId: string }) => t.guildId === discord.guildId)
      .map((t: { id: string }) => t.id);
    await stopBot();
    await startBot();
    expect(discord.commandPuts).toBe(1);
    const { text } = await slash("task", "list");
    expect(text).toContain(`"title":"Tasks (${tasksBefore.length})"`);
    // Scheduled again at start: the start-up table shows each enabled task's next run.
    for (const id of tasksBefore) expect(bot.output()).toMatch(new RegExp(`\\n${id}\\s`));
    expect(bot.output()).toMatch(
      /\nhello\s+message\s+daily 06:00\s+yes\s+\d{4}-\d\d-\d\d 06:00 \(UTC\)/,
    );
    expect((await slash("task", "show", { id: "hello" })).text).toMatch(/Next runs.*<t:\d+:f>/);
  });

  it("never writes the token to the log or to saved files", async () => {
    expect(bot.output()).not.toContain(discord.token);
    const files = ["db.json", "db.journal"].map((f) => join(dataDir(), f));
    for (const f of files) expect(await readFile(f, "utf8")).not.toContain(discord.token);
    expect(JSON.stringify(await logLines())).not.toContain(discord.token);
  });
});

describe("two servers, one bot", () => {
  const inB = { guild: "" };
  beforeAll(() => {
    inB.guild = discord.otherGuildId;
  });

  it("each server sees, changes, runs and autocompletes only its own tasks, goals and reminders", async () => {
    // The same id in both: two tasks. An id only A has: B cannot reach it.
    await slash("task", "add", {
      id: "twin",
      handler: "message",
      schedule: "daily 07:00",
      message: "from A",
    });
    await slash("task", "add", { id: "only-a", handler: "test", schedule: "daily 07:30" });
    const added = await slash(
      "task",
      "add",
      { id: "twin", handler: "message", schedule: "daily 08:00", message: "from B" },
      inB,
    );
    expect(added.text).toContain("Added twin");

    const listB = (await slash("task", "list", {}, inB)).text;
    expect(listB).toContain("twin");
    expect(listB).not.toContain("only-a");
    expect(listB).not.toContain("standup");
    expect((await slash("task", "show", { id: "only-a" }, inB)).text).toMatch(/no task with id/);
    expect((await slash("task", "delete", { id: "only-a" }, inB)).text).toMatch(/no task with id/);
    expect((await slash("task", "run", { id: "only-a" }, inB)).text).toMatch(/no task with id/);
    expect((await slash("task", "history", { id: "only-a" }, inB)).text).toMatch(/no task with id/);
    expect((await slash("task", "skip", { id: "only-a" }, inB)).text).toMatch(/no task with id/);
    expect((await slash("task", "edit", { id: "only-a", name: "hijacked" }, inB)).text).toMatch(
      /no task with id/,
    );
    expect((await slash("task", "show", { id: "only-a" })).text).toContain("only-a");

    const ac = discord.autocomplete("task", "show", { id: "" }, "id", inB);
    const choices = (await answer(ac)).data.choices as { value: string }[];
    expect(choices.map((c) => c.value)).toContain("twin");
    expect(choices.map((c) => c.value)).not.toContain("only-a");

    // Running B's twin posts B's text into B's server only, and A's twin is untouched.
    const posted = discord.messages.length;
    await slash("task", "edit", { id: "twin", channel: discord.otherChannel }, inB);
    await slash("task", "run", { id: "twin" }, inB);
    const fresh = discord.messages.slice(posted);
    expect(fresh.map((m) => [m.channel_id, m.content])).toEqual([[discord.otherChannel, "from B"]]);
    const stored = (await db()).tasks.filter((t: { id: string }) => t.id === "twin");
    expect(
      stored.map((t: { guildId: string; options: unknown }) => [t.guildId, t.options]),
    ).toEqual([
      [discord.guildId, { message: "from A" }],
      [discord.otherGuildId, { message: "from B" }],
    ]);
    expect((await slash("task", "history", { id: "twin" })).text).toContain("No attempts yet");

    // Goals and reminders, numbered per server.
    await slash("goal", "add", { text: "B's own goal" }, inB);
    const goalsB = (await slash("goal", "list", {}, inB)).text;
    expect(goalsB).toContain("**#1** B's own goal");
    expect((await slash("goal", "list")).text).not.toContain("B's own goal");
    expect((await slash("reminder", "list", {}, inB)).text).toContain("No open reminders");
  });

  it("a channel of the other server is refused, and nothing is stored", async () => {
    const { text } = await slash("task", "add", {
      id: "sneaky",
      handler: "test",
      schedule: "daily 09:00",
      channel: discord.otherChannel,
    });
    expect(text).toMatch(/in another server; pick a channel of this server/);
    expect((await db()).tasks.some((t: { id: string }) => t.id === "sneaky")).toBe(false);
  });

  it("/settings: each server's own, shown and set", async () => {
    const shown = (await slash("settings", "show", {}, inB)).text;
    expect(shown).toContain("none: outputs are only saved"); // B has no default channel
    const set = await slash("settings", "set", { timezone: "Asia/Tokyo" }, inB);
    expect(set.text).toContain("Asia/Tokyo");
    expect((await slash("settings", "show")).text).toContain(`<#${discord.channels.briefings}>`);
    expect((await slash("settings", "show")).text).not.toContain("Asia/Tokyo");
    const bad = await slash("settings", "set", { timezone: "Mars/Base" }, inB);
    expect(bad.text).toMatch(/not an IANA time zone/);
  });
});
