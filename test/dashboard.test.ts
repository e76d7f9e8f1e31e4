import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import parsePrometheus from "parse-prometheus-text-format";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDashboard, type Dashboard } from "../src/web/dashboard.ts";
import { makeWorld, memoryLogger, type World } from "./support/world.ts";

// The dashboard's routes through Fastify's inject, on a headless world (the operator logs in
// with the local link). Discord logins and per-member access: dashboard-discord.test.ts.

let w: World;
let d: Dashboard;

async function open(config: Record<string, string> = {}) {
  d = await createDashboard({
    config: {
      DATA_DIR: w.dataDir,
      DASHBOARD_HOST: "127.0.0.1",
      DASHBOARD_PORT: 3000,
      ADMIN_USER_IDS: [],
      ...config,
    },
    app: w.app,
    client: null,
    log: memoryLogger().log,
    now: () => w.clock.now(),
  });
}

beforeEach(async () => {
  w = await makeWorld({ start: "2026-11-28T08:00:00Z" });
  await open();
});
afterEach(async () => {
  await d.server.close();
  await w.close();
});

const HOSTILE_NAME = `<script>alert(1)</script>"><img src=x onerror=alert(2)>`;

/** Logs in with a fresh local link: the session cookie and the CSRF token of its forms. */
async function login(): Promise<{ cookie: string; csrf: string }> {
  const link = new URL(d.loginLink());
  const res = await d.server.inject({ url: `${link.pathname}${link.search}` });
  expect(res.statusCode).toBe(303);
  const cookie = String(res.headers["set-cookie"]).split(";")[0] as string;
  const home = await d.server.inject({ url: "/", headers: { cookie } });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(home.body)?.[1] as string;
  expect(csrf).toBeTruthy();
  return { cookie, csrf };
}

const get = (url: string, cookie: string) => d.server.inject({ url, headers: { cookie } });
const post = (url: string, cookie: string, form: Record<string, string>) =>
  d.server.inject({
    method: "POST",
    url,
    headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
    payload: new URLSearchParams(form).toString(),
  });

async function addTask(id: string, extra: Record<string, unknown> = {}) {
  return w.app.service.addTask("local", {
    id,
    handler: "test",
    schedule: "every weekday at 9am",
    ...extra,
  } as never);
}

describe("dashboard: logging in", () => {
  it("the local link works once; the session cookie is HttpOnly and SameSite", async () => {
    const link = new URL(d.loginLink());
    const first = await d.server.inject({ url: `${link.pathname}${link.search}` });
    expect(first.statusCode).toBe(303);
    const setCookie = String(first.headers["set-cookie"]);
    expect(setCookie).toMatch(/mc_session=/);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Lax/);
    expect(setCookie).not.toMatch(/Secure/);
    const again = await d.server.inject({ url: `${link.pathname}${link.search}` });
    expect(again.statusCode).toBe(401);
    expect(again.body).toContain("already used or has expired");
    expect(again.headers["set-cookie"]).toBeUndefined();
  });

  it("a link expires after 15 minutes", async () => {
    const link = new URL(d.loginLink());
    await w.clock.advance(15 * 60_000 + 1);
    const res = await d.server.inject({ url: `${link.pathname}${link.search}` });
    expect(res.statusCode).toBe(401);
  });

  it("cookies are Secure behind an https PUBLIC_URL", async () => {
    await d.server.close();
    await open({ PUBLIC_URL: "https://mission.example.com" });
    expect(d.loginLink()).toMatch(/^https:\/\/mission\.example\.com\/login\/local\?token=/);
    const link = new URL(d.loginLink());
    const res = await d.server.inject({ url: `${link.pathname}${link.search}` });
    expect(String(res.headers["set-cookie"])).toMatch(/Secure/);
  });

  it("without a session, pages send you to the login page, which has no Discord button headless", async () => {
    await addTask("t1");
    const res = await d.server.inject({ url: "/s/local" });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe("/");
    const home = await d.server.inject({ url: "/" });
    expect(home.body).toContain("one-time login link");
    expect(home.body).not.toContain("Log in with Discord");
  });

  it("logging out ends the session", async () => {
    const { cookie, csrf } = await login();
    const out = await post("/logout", cookie, { _csrf: csrf });
    expect(out.statusCode).toBe(303);
    expect((await get("/s/local", cookie)).statusCode).toBe(303);
  });

  it("login routes are rate-limited", async () => {
    const codes: number[] = [];
    for (let i = 0; i < 12; i++)
      codes.push((await d.server.inject({ url: "/login/local?token=wrong" })).statusCode);
    expect(codes.slice(0, 10).every((c) => c === 401)).toBe(true);
    expect(codes.slice(10)).toEqual([429, 429]);
  });
});

describe("dashboard: pages", () => {
  it("every page sends a Content-Security-Policy and loads no inline script", async () => {
    await addTask("t1");
    const { cookie } = await login();
    for (const url of [
      "/",
      "/s/local",
      "/s/local/tasks/t1",
      "/s/local/items",
      "/s/local/settings",
      "/s/local/briefings",
      "/s/local/tasks/t1/edit",
    ]) {
      const res = await get(url, cookie);
      expect(res.statusCode, url).toBe(200);
      expect(res.headers["content-security-policy"]).toContain("script-src 'self'");
      expect(res.headers["content-security-policy"]).not.toContain("unsafe-inline");
      for (const tag of res.body.match(/<script[^>]*>/g) ?? []) expect(tag).toMatch(/src="/);
      expect(res.body).not.toMatch(/ on\w+=/i);
      expect(res.body).not.toMatch(/ style=/i);
    }
  });

  it("the servers page lists this machine; the tasks page shows words, next run and results", async () => {
    await addTask("standup", { name: "Stand-up" });
    const { cookie } = await login();
    expect((await get("/", cookie)).body).toContain('href="/s/local"');
    const res = await get("/s/local", cookie);
    expect(res.body).toContain("Stand-up");
    expect(res.body).toContain("every weekday at 09:00");
    // Saturday 08:00 UTC: the next weekday 09:00 is Monday's.
    expect(res.body).toContain("in 2 d");
    expect(res.body).toContain("2026-11-30 09:00 (UTC)");
    expect(res.body).toContain("never run");
  });

  it("a server's tasks come 50 to a page", async () => {
    for (let i = 0; i < 120; i++) await addTask(`t${String(i).padStart(3, "0")}`);
    const { cookie } = await login();
    const first = (await get("/s/local", cookie)).body;
    expect(first).toContain("(120; page 1 of 3)");
    expect(first.match(/<tr>/g)).toHaveLength(51); // the header and 50 tasks
    expect(first).toContain('href="/s/local?page=3"');
    const last = (await get("/s/local?page=3", cookie)).body;
    expect(last.match(/<tr>/g)).toHaveLength(21);
    expect(last).toContain("t119");
    expect(last).not.toContain("t000");
    expect((await get("/s/local?page=99", cookie)).body).toContain("page 3 of 3");
  });

  it("a task's next 10 runs flag a daylight-saving move", async () => {
    await w.close();
    w = await makeWorld({ start: "2026-03-25T12:00:00Z" });
    await d.server.close();
    await open();
    await addTask("night", { schedule: "daily 02:30", timezone: "Europe/Paris" });
    const { cookie } = await login();
    const body = (await get("/s/local/tasks/night", cookie)).body;
    const runs = body.slice(body.indexOf("<h2>Next runs</h2>"), body.indexOf("<h2>History</h2>"));
    expect(runs.match(/<tr>/g)).toHaveLength(10);
    // 29 March 2026: 02:30 does not exist in Paris; the run moves, and the page says so.
    expect(runs).toMatch(
      /2026-03-29 03:00 \(Europe\/Paris\)<\/time>.*<span class="dst">⚠ [^<]+<\/span>/,
    );
    expect(runs.match(/class="dst"/g)).toHaveLength(1);
  });

  it("hostile task names and outputs render inert", async () => {
    await addTask("evil", { name: HOSTILE_NAME, options: { message: HOSTILE_NAME } });
    const { cookie, csrf } = await login();
    for (const url of [
      "/s/local",
      "/s/local/tasks/evil",
      "/s/local/tasks/evil/edit",
      "/s/local/tasks/evil/delete",
    ]) {
      const body = (await get(url, cookie)).body;
      expect(body, url).not.toContain("<script>alert");
      expect(body, url).not.toContain("<img src=x");
      expect(body, url).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    }
    const dry = await post("/s/local/tasks/evil/dry-run", cookie, { _csrf: csrf });
    expect(dry.statusCode).toBe(200);
    expect(dry.body).toContain("Dry run of");
    expect(dry.body).not.toContain("<script>alert");
    expect(dry.body).not.toMatch(/<img[^>]*onerror/);
  });
});

describe("dashboard: actions", () => {
  it("a POST without the session's CSRF token is refused and changes nothing", async () => {
    await addTask("t1");
    const { cookie, csrf } = await login();
    const none = await post("/s/local/tasks/t1/disable", cookie, {});
    const wrong = await post("/s/local/tasks/t1/disable", cookie, { _csrf: `${csrf}x` });
    const noSession = await post("/s/local/tasks/t1/disable", "", { _csrf: csrf });
    for (const res of [none, wrong, noSession]) {
      expect(res.statusCode).toBe(403);
      expect(res.body).toContain("nothing was changed");
    }
    expect(w.app.service.getTask("local", "t1").enabled).toBe(true);
    const ok = await post("/s/local/tasks/t1/disable", cookie, { _csrf: csrf });
    expect(ok.statusCode).toBe(303);
    expect(w.app.service.getTask("local", "t1").enabled).toBe(false);
    const page = await get("/s/local/tasks/t1", cookie);
    expect(page.body).toContain("Task disabled");
    expect(page.body).toContain("Enable");
    // The notice shows once.
    expect((await get("/s/local/tasks/t1", cookie)).body).not.toContain("Task disabled");
  });

  it("run now logs an attempt that the task page then shows", async () => {
    await addTask("t1", { options: { message: "hello" } });
    const { cookie, csrf } = await login();
    const res = await post("/s/local/tasks/t1/run", cookie, { _csrf: csrf });
    expect(res.statusCode).toBe(303);
    const page = await get("/s/local/tasks/t1", cookie);
    expect(page.body).toContain("Run finished: success");
    expect(page.body).toMatch(/<td>manual<\/td><td>1<\/td><td class="status-success">success/);
    expect(page.body).toContain("Runs:</b> 1 (1 ok, 0 failed)");
  });

  it("a failed run shows its error; skip next and enable work", async () => {
    await addTask("bad", { options: { failWith: "disk full" }, retries: 0 });
    const { cookie, csrf } = await login();
    await post("/s/local/tasks/bad/run", cookie, { _csrf: csrf });
    const page = await get("/s/local/tasks/bad", cookie);
    expect(page.body).toContain("Run finished: failure after 1 attempt(s) — disk full");
    expect(page.body).toContain("failing");
    await post("/s/local/tasks/bad/skip", cookie, { _csrf: csrf });
    expect(w.app.service.getTask("local", "bad").skipNext).toBe(true);
    expect((await get("/s/local/tasks/bad", cookie)).body).toContain("skipped, as asked");
  });

  it("edit uses the commands' validation: a bad schedule is refused with its message and nothing changes", async () => {
    await addTask("t1");
    const { cookie, csrf } = await login();
    const form = (await get("/s/local/tasks/t1/edit", cookie)).body;
    const value = (name: string) =>
      new RegExp(`name="${name}" value="([^"]*)"`).exec(form)?.[1]?.replaceAll("&quot;", '"') ?? "";
    const fields: Record<string, string> = { _csrf: csrf, options: "{}" };
    for (const name of [
      "name",
      "description",
      "handler",
      "schedule",
      "timezone",
      "channel",
      "retries",
      "retry-delay",
      "timeout",
      "max-runs",
      "until",
    ])
      fields[name] = value(name);
    fields.backoff = "exponential";
    fields["catch-up"] = "once";
    const bad = await post("/s/local/tasks/t1/edit", cookie, {
      ...fields,
      schedule: "every funday",
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.body).toMatch(/schedule: .*funday/);
    expect(bad.body).toContain('aria-invalid="true"');
    expect(w.app.service.getTask("local", "t1").schedule).toMatchObject({ type: "weekly" });
    const badOptions = await post("/s/local/tasks/t1/edit", cookie, {
      ...fields,
      options: "{nope",
    });
    expect(badOptions.statusCode).toBe(422);
    expect(badOptions.body).toContain("options: must be a JSON object");
    const ok = await post("/s/local/tasks/t1/edit", cookie, {
      ...fields,
      schedule: "daily 07:30",
      name: "Early",
    });
    expect(ok.statusCode).toBe(303);
    expect(w.app.service.getTask("local", "t1")).toMatchObject({
      name: "Early",
      schedule: { type: "daily", time: "07:30" },
    });
  });

  it("delete asks first, then deletes", async () => {
    await addTask("t1");
    const { cookie, csrf } = await login();
    const confirm = await get("/s/local/tasks/t1/delete", cookie);
    expect(confirm.body).toContain("Delete t1");
    expect(w.app.service.listTasks("local")).toHaveLength(1);
    const res = await post("/s/local/tasks/t1/delete", cookie, { _csrf: csrf });
    expect(res.headers.location).toBe("/s/local/");
    expect(w.app.service.listTasks("local")).toHaveLength(0);
    expect((await get("/s/local/tasks/t1", cookie)).statusCode).toBe(404);
  });

  it("goals and reminders: add, done, remove; a bad due date changes nothing", async () => {
    const { cookie, csrf } = await login();
    await post("/s/local/items/goal", cookie, { _csrf: csrf, text: HOSTILE_NAME });
    await post("/s/local/items/reminder", cookie, {
      _csrf: csrf,
      text: "Renew",
      due: "2026-11-29",
    });
    const bad = await post("/s/local/items/reminder", cookie, {
      _csrf: csrf,
      text: "X",
      due: "2026-13-01",
    });
    expect(bad.statusCode).toBe(303);
    const page = (await get("/s/local/items", cookie)).body;
    expect(page).toContain("due: ");
    expect(page).toContain("Renew");
    expect(page).toContain("tomorrow");
    expect(page).not.toContain("<script>alert");
    expect(w.app.items.listItems("local", "reminder")).toHaveLength(1);
    await post("/s/local/items/goal/1/done", cookie, { _csrf: csrf });
    await post("/s/local/items/reminder/1/remove", cookie, { _csrf: csrf });
    expect(w.app.items.listItems("local", "goal")).toHaveLength(0);
    expect(w.app.items.listItems("local", "reminder")).toHaveLength(0);
  });

  it("settings: a bad zone is refused with its message; a good one is saved", async () => {
    const { cookie, csrf } = await login();
    const bad = await post("/s/local/settings", cookie, { _csrf: csrf, timezone: "Mars/Olympus" });
    expect(bad.statusCode).toBe(422);
    expect(bad.body).toContain("timezone:");
    expect(w.app.servers.settings("local").timezone).toBe("UTC");
    await post("/s/local/settings", cookie, { _csrf: csrf, timezone: "Europe/Paris" });
    expect(w.app.servers.settings("local").timezone).toBe("Europe/Paris");
  });
});

describe("dashboard: briefings", () => {
  it("lists briefings newest first and renders one, sanitized", async () => {
    const dir = join(w.dataDir, "briefings", "local");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "2026-11-26.md"), "# Older\n");
    await writeFile(
      join(dir, "2026-11-27.md"),
      `# Briefing\n\n- **Ship** it\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n[click](javascript:alert(3))\n`,
    );
    const { cookie } = await login();
    const list = (await get("/s/local/briefings", cookie)).body;
    expect(list.indexOf("2026-11-27")).toBeLessThan(list.indexOf("2026-11-26"));
    const page = (await get("/s/local/briefings/2026-11-27", cookie)).body;
    expect(page).toContain("<h1>Briefing</h1>");
    expect(page).toContain("<strong>Ship</strong>");
    expect(page).not.toContain("<script>alert");
    expect(page).not.toMatch(/<img/);
    expect(page).not.toContain("javascript:");
    expect((await get("/s/local/briefings/..%2Fdb", cookie)).statusCode).toBe(404);
    expect((await get("/s/local/briefings/2026-01-01", cookie)).statusCode).toBe(404);
  });
});

describe("dashboard: /healthz and /metrics", () => {
  it("/healthz says whether the scheduler runs", async () => {
    const ok = await d.server.inject({ url: "/healthz" });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ ok: true, discord: "headless", scheduler: "running" });
    w.app.scheduler.stop();
    const down = await d.server.inject({ url: "/healthz" });
    expect(down.statusCode).toBe(503);
    expect(down.json()).toMatchObject({ ok: false, scheduler: "stopped" });
  });

  it("/metrics is Prometheus text: attempts by status, durations, fire lag, tasks, outputs", async () => {
    await addTask("t1", { schedule: "daily 08:01" });
    await addTask("t2", { schedule: "daily 09:00", enabled: false });
    await w.clock.advance(60_000);
    await w.app.scheduler.idle();
    const res = await d.server.inject({ url: "/metrics" });
    expect(res.statusCode).toBe(200);
    const families = parsePrometheus(res.body);
    const family = (name: string) => families.find((f) => f.name === name);
    expect(family("mission_control_attempts_total")?.metrics).toEqual([
      expect.objectContaining({ labels: { status: "success", trigger: "schedule" }, value: "1" }),
    ]);
    expect(family("mission_control_attempt_duration_seconds")?.metrics[0]?.count).toBe("1");
    // Cumulative buckets: never falling, and the widest holds every attempt.
    const buckets = Object.values(
      family("mission_control_attempt_duration_seconds")?.metrics[0]?.buckets ?? {},
    ).map(Number);
    expect(buckets.length).toBeGreaterThan(5);
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
    expect(buckets.at(-1)).toBe(1);
    expect(family("mission_control_fire_lag_seconds")?.metrics[0]?.count).toBe("1");
    expect(family("mission_control_tasks")?.metrics).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ labels: { state: "enabled" }, value: "1" }),
        expect.objectContaining({ labels: { state: "disabled" }, value: "1" }),
      ]),
    );
    expect(family("mission_control_outputs_delivered_total")?.metrics[0]?.value).toBe("1");
  });

  it("METRICS_TOKEN guards /metrics", async () => {
    await d.server.close();
    await open({ METRICS_TOKEN: "s3cret" });
    expect((await d.server.inject({ url: "/metrics" })).statusCode).toBe(401);
    const wrong = await d.server.inject({
      url: "/metrics",
      headers: { authorization: "Bearer nope" },
    });
    expect(wrong.statusCode).toBe(401);
    const right = await d.server.inject({
      url: "/metrics",
      headers: { authorization: "Bearer s3cret" },
    });
    expect(right.statusCode).toBe(200);
    expect(right.body).toContain("mission_control_tasks");
  });
});
