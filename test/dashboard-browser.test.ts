import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browserSkipReason, launchBrowser } from "./support/browser.ts";
import { startDashboardBot } from "./support/dashboard-bot.ts";
import { type FakeDiscord, startFakeDiscord } from "./support/fake-discord.ts";
import { cli, freePort, type Proc, startMain } from "./support/process.ts";
import { tempDir } from "./support/world.ts";

// The dashboard in a real headless Chromium: logging in through the fake Discord's OAuth2
// pages, running and disabling a task, reading a briefing, a phone-sized screen, and the
// headless local link. SCREENSHOTS=docs/screenshots saves the README's pictures.

const SHOTS = process.env.SCREENSHOTS || join(tmpdir(), "mission-control-screenshots");

let discord: FakeDiscord;
let dir: Awaited<ReturnType<typeof tempDir>>;
let bot: Proc;
let browser: Browser;
let dash: string;
const procs: Proc[] = [];
const cspViolations: string[] = [];

async function newPage(viewport = { width: 1200, height: 800 }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  page.on("console", (m) => {
    if (/Content.Security.Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  return page;
}

/** Through the dashboard's login page and the fake Discord's authorize page, as admin. */
async function logInAsAdmin(page: Page): Promise<void> {
  await page.goto(dash);
  await page.click("text=Log in with Discord");
  await page.waitForURL(`${discord.webUrl}/**`);
  await page.click("text=Log in as admin");
  await page.waitForURL(`${dash}/`);
}

const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);

describe.skipIf(browserSkipReason)("dashboard in Chromium", () => {
  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    discord = await startFakeDiscord();
    dir = await tempDir();
    const data = join(dir.path, "data");
    ({ bot, dash } = await startDashboardBot(discord, dir.path, {
      DEFAULT_TIMEZONE: "Europe/Paris",
      MANUAL_RUN_INTERVAL_SECONDS: "0",
    }));
    procs.push(bot);
    const env = { DATA_DIR: data };
    const add = (...args: string[]) => cli(dir.path, env, "--server", discord.guildId, ...args);
    for (const args of [
      [
        "standup",
        "--name",
        "Stand-up reminder",
        "--handler",
        "message",
        "--schedule",
        "every weekday at 9:30",
        "--message",
        "Stand-up in the usual room",
      ],
      [
        "backup-check",
        "--name",
        "Backup check",
        "--handler",
        "test",
        "--schedule",
        "every 2 hours",
      ],
      [
        "flaky-feed",
        "--name",
        "<b>Flaky</b> feed",
        "--handler",
        "test",
        "--schedule",
        "daily 12:00",
        "--option",
        "failWith=feed timed out",
        "--retries",
        "0",
      ],
    ]) {
      const res = await add("tasks", "add", ...(args as string[]));
      expect(res.code, res.stderr).toBe(0);
    }
    for (const id of ["backup-check", "backup-check", "flaky-feed"]) {
      const run = await add("run", id);
      expect(run.stdout + run.stderr).toMatch(/after 1 attempt/);
    }
    const briefings = join(data, "briefings", discord.guildId);
    await mkdir(briefings, { recursive: true });
    await writeFile(
      join(briefings, `${yesterday}.md`),
      `# Daily briefing — ${yesterday}\n\n## Goals\n- Ship the dashboard\n\n## Reminders\n- **Renew the domain** (due tomorrow)\n\n## Yesterday\n- backup-check: 12 runs, all succeeded\n- flaky-feed: failed — feed timed out\n`,
    );
    browser = (await launchBrowser()) as Browser;
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    for (const p of procs) {
      p.child.kill("SIGTERM");
      await p.exited;
    }
    await discord?.close();
    await dir?.remove();
  });

  it("logs in through Discord's OAuth2 page, runs a task and sees the attempt, disables it", async () => {
    const page = await newPage();
    await logInAsAdmin(page);
    await page.waitForSelector("text=Test Server");
    await shot(page, "servers");

    await page.click("text=Test Server");
    await page.waitForSelector("table.tasks");
    expect(await page.textContent("table.tasks")).toContain("every weekday at 09:30");
    await shot(page, "tasks");

    await page.click("text=Backup check");
    await page.waitForSelector("h1");
    const before = await page.locator("table.attempts tbody tr").count();
    await page.click("button:has-text('Run now')");
    await page.waitForSelector(".flash");
    expect(await page.textContent(".flash")).toMatch(/Run finished: success/);
    expect(await page.locator("table.attempts tbody tr").count()).toBe(before + 1);
    expect(await page.textContent("table.attempts tbody tr:first-child")).toContain("manual");
    await shot(page, "task");

    await page.click("button:has-text('Disable')");
    await page.waitForSelector(".flash");
    expect(await page.textContent(".flash")).toContain("Task disabled");
    expect(await page.textContent("h1")).toContain("disabled");
    const show = await cli(
      dir.path,
      { DATA_DIR: join(dir.path, "data") },
      "--server",
      discord.guildId,
      "tasks",
      "show",
      "backup-check",
    );
    expect(show.stdout).toContain("enabled:   no");
    await page.close();
  });

  it("reads yesterday's briefing, rendered from its markdown", async () => {
    const page = await newPage();
    await logInAsAdmin(page);
    await page.click("text=Test Server");
    await page.click("nav.tabs >> text=Briefings");
    await page.click(`text=${yesterday}`);
    await page.waitForSelector("article h1");
    expect(await page.textContent("article h1")).toBe(`Daily briefing — ${yesterday}`);
    expect(await page.locator("article strong").first().textContent()).toBe("Renew the domain");
    await shot(page, "briefing");
    await page.close();
  });

  it("reads well on a phone: nothing wider than the screen", async () => {
    const page = await newPage({ width: 390, height: 844 });
    await logInAsAdmin(page);
    await page.click("text=Test Server");
    await page.waitForSelector("table.tasks");
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await shot(page, "tasks-phone");
    await page.close();
  });

  it("logs in headless with the one-time link npm start printed", async () => {
    const other = await tempDir();
    const port = await freePort();
    const headless = startMain(other.path, {
      DATA_DIR: join(other.path, "data"),
      DASHBOARD_PORT: String(port),
    });
    procs.push(headless);
    await headless.waitFor(/Dashboard: .* \(15 minutes\): \S+/, 30_000);
    const link = /\(15 minutes\): (\S+)/.exec(headless.output())?.[1] as string;
    const page = await newPage();
    await page.goto(link);
    await page.waitForSelector("text=This machine");
    await page.click("text=This machine");
    await page.waitForSelector("text=daily-briefing");
    // Used once: the same link now says so.
    const again = await browser.newPage();
    await again.goto(link);
    expect(await again.textContent("main")).toContain("already used or has expired");
    await again.close();
    await page.close();
  });

  it("no page broke its Content-Security-Policy", () => {
    expect(cspViolations).toEqual([]);
  });
});
