import { setTimeout as delay, setImmediate as yieldToTimers } from "node:timers/promises";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { isBriefingDate } from "../../outputs/briefing-archive.ts";
import { MissionControlError, NotFoundError, ValidationError } from "../../shared/errors.ts";
import type { ItemKind } from "../../tasks/items.ts";
import type { SettingsPatch } from "../../tasks/servers.ts";
import { FIELDS, flagFields, type TaskPatch } from "../../tasks/task-form.ts";
import { type Tenant, TenantSchema } from "../../tasks/tenant.ts";
import { zonedParts } from "../../time/timezone.ts";
import type { ServerRef } from "../access.ts";
import { renderMarkdown } from "../markdown.ts";
import { flashAndGo, sendPage, statusOf, type WebDeps } from "../server.ts";
import { LIST_CHART, TASK_CHART } from "../views/charts.ts";
import type { PageContext } from "../views/layout.ts";
import {
  briefingPage,
  briefingsPage,
  errorPage,
  itemsPage,
  SETTING_FIELDS,
  settingsPage,
} from "../views/pages.ts";
import { type TaskRow, tasksPage } from "../views/servers.ts";
import { deletePage, dryRunPage, editPage, fieldText, taskPage } from "../views/task.ts";

// Everything under /s/:server: a server's tasks, goals and reminders, briefings and settings.
// Each request is checked live against the viewer's rights in that server before it runs.

/** How long "Run now" waits for the run before answering "started". */
const RUN_WAIT_MS = 5_000;
/** Tasks on one page of a server's tasks. */
export const PAGE_SIZE = 50;

declare module "fastify" {
  interface FastifyRequest {
    /** The server of the request's path, once the viewer's access to it is checked. */
    tenant: ServerRef | null;
  }
}

type Req = FastifyRequest<{ Params: Record<string, string>; Body: Record<string, string> }>;

export const serverRoutes = (deps: WebDeps) => async (app: FastifyInstance) => {
  const { tasks, items, servers } = deps;
  app.decorateRequest("tenant", null);
  app.addHook("preHandler", async (req: Req, reply) => {
    if (reply.sent) return;
    if (!req.session) return reply.redirect("/", 303);
    const tenant = req.params.server ?? "";
    const refused = TenantSchema.safeParse(tenant).success
      ? await deps.access.refusal(req.session.viewer, tenant)
      : "There is no such server here.";
    if (refused) return sendPage(reply, errorPage({ session: req.session }, 403, refused), 403);
    req.tenant = { id: tenant, name: deps.access.name(tenant) };
  });

  const ctx = (req: FastifyRequest): PageContext => ({
    session: req.session,
    server: req.tenant ?? undefined,
  });
  const tenantOf = (req: FastifyRequest): Tenant => (req.tenant as ServerRef).id;
  const base = (req: FastifyRequest) => `/s/${encodeURIComponent(tenantOf(req))}`;
  const taskUrl = (req: Req) => `${base(req)}/tasks/${encodeURIComponent(req.params.id ?? "")}`;

  // ---- tasks

  app.get("/", async (req: Req, reply) => {
    const tenant = tenantOf(req);
    const all = tasks.overview(tenant);
    const pages = Math.max(1, Math.ceil(all.length / PAGE_SIZE));
    const page = Math.min(pages, Math.max(1, Number((req.query as { page?: string }).page) || 1));
    const shown = all.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
    const rows: TaskRow[] = [];
    // Ten tasks' reads at a time (they are synchronous): the scheduler's timers get their turn
    // between them.
    for (let i = 0; i < shown.length; i += 10) {
      if (i) await yieldToTimers();
      const batch = shown.slice(i, i + 10);
      const ids = batch.map((r) => r.task.id);
      const recent = await tasks.recentAttempts(tenant, ids, LIST_CHART);
      for (const row of batch) rows.push({ ...row, recent: recent.get(row.task.id) ?? [] });
    }
    return sendPage(
      reply,
      tasksPage(ctx(req), rows, deps.now(), { page, pages, total: all.length }),
    );
  });

  app.get("/tasks/:id", async (req: Req, reply) => {
    const tenant = tenantOf(req);
    const id = req.params.id as string;
    const [report, chart] = await Promise.all([
      tasks.history(tenant, id, 25),
      tasks.recentAttempts(tenant, [id], TASK_CHART).then((r) => r.get(id) ?? []),
    ]);
    const upcoming = tasks.upcomingRuns(tenant, id, 10);
    return sendPage(reply, taskPage(ctx(req), report, upcoming, chart, deps.now()));
  });

  /** A one-click action: done → a notice on the task page; a refusal → the same, as an error. */
  const action = (path: string, run: (req: Req) => Promise<string>, to = taskUrl) =>
    app.post(path, async (req: Req, reply) => {
      try {
        return flashAndGo(req, reply, to(req), await run(req));
      } catch (err) {
        // An unknown task or item is a 404 page; other refusals are a notice where you were.
        if (err instanceof MissionControlError && !(err instanceof NotFoundError))
          return flashAndGo(req, reply, to(req), err.message, "error");
        throw err;
      }
    });

  action("/tasks/:id/enable", async (req) => {
    await tasks.setEnabled(tenantOf(req), req.params.id as string, true);
    return "Task enabled.";
  });
  action("/tasks/:id/disable", async (req) => {
    await tasks.setEnabled(tenantOf(req), req.params.id as string, false);
    return "Task disabled: it will not run until it is enabled again.";
  });
  action("/tasks/:id/skip", async (req) => {
    await tasks.skipNext(tenantOf(req), req.params.id as string);
    return "The next run will be skipped; later runs go on as usual.";
  });
  action("/tasks/:id/run", async (req) => {
    const run = tasks.runNow(tenantOf(req), req.params.id as string);
    const waited = await Promise.race([run, delay(RUN_WAIT_MS, null, { ref: false })]);
    if (!waited) {
      run.catch(() => {}); // its outcome is logged by the runner
      return "The run started and is still going; reload this page to see its result.";
    }
    return waited.status === "success"
      ? `Run finished: success in ${waited.durationMs} ms.`
      : `Run finished: ${waited.status} after ${waited.attempts} attempt(s)${waited.error ? ` — ${waited.error}` : ""}.`;
  });
  action(
    "/tasks/:id/delete",
    async (req) => {
      await tasks.deleteTask(tenantOf(req), req.params.id as string);
      return `Task ${req.params.id} deleted.`;
    },
    (req) => `${base(req)}/`,
  );

  app.post("/tasks/:id/dry-run", async (req: Req, reply) => {
    const tenant = tenantOf(req);
    const id = req.params.id as string;
    const task = tasks.getTask(tenant, id);
    const result = await tasks.runNow(tenant, id, { dryRun: true });
    return sendPage(reply, dryRunPage(ctx(req), task, result));
  });

  app.get("/tasks/:id/delete", async (req: Req, reply) =>
    sendPage(reply, deletePage(ctx(req), tasks.getTask(tenantOf(req), req.params.id as string))),
  );

  app.get("/tasks/:id/edit", async (req: Req, reply) => {
    const task = tasks.getTask(tenantOf(req), req.params.id as string);
    const values = Object.fromEntries(flagFields.map((f) => [f.spec.name, fieldText(task, f.key)]));
    return sendPage(reply, editPage(ctx(req), task, values, JSON.stringify(task.options), null));
  });

  app.post("/tasks/:id/edit", async (req: Req, reply) => {
    const tenant = tenantOf(req);
    const task = tasks.getTask(tenant, req.params.id as string);
    const body = req.body ?? {};
    // Only what was changed is sent, as the CLI's flags would be: the same validation and
    // messages.
    const patch: Record<string, unknown> = {};
    for (const { key, spec } of flagFields) {
      const text = (body[spec.name] ?? "").trim();
      if (text === fieldText(task, key)) continue;
      const nullable = FIELDS[key].stored.safeParse(null).success;
      patch[key] = text === "" && nullable ? null : spec.fromText ? spec.fromText(text) : text;
    }
    const options = (body.options ?? "").trim();
    try {
      if (options !== JSON.stringify(task.options)) patch.options = parseOptions(options);
      await tasks.editTask(tenant, task.id, patch as TaskPatch);
      return flashAndGo(req, reply, taskUrl(req), "Task saved.");
    } catch (err) {
      const problem = formProblem(err);
      return sendPage(reply, editPage(ctx(req), task, body, options, problem), statusOf(err));
    }
  });

  // ---- goals and reminders

  app.get("/items", async (req: Req, reply) => {
    const tenant = tenantOf(req);
    const today = zonedParts(deps.now(), servers.settings(tenant).timezone).date;
    return sendPage(
      reply,
      itemsPage(
        ctx(req),
        items.listItems(tenant, "goal"),
        items.listItems(tenant, "reminder"),
        today,
      ),
    );
  });

  const itemKind = (req: Req): ItemKind => {
    const kind = req.params.kind;
    if (kind === "goal" || kind === "reminder") return kind;
    throw new ValidationError("kind", `"${kind}" is not goal or reminder`, "goal");
  };
  const itemsUrl = (req: Req) => `${base(req)}/items`;
  action(
    "/items/:kind",
    async (req) => {
      const kind = itemKind(req);
      const body = req.body ?? {};
      const item = await items.addItem(tenantOf(req), kind, body.text ?? "", body.due || null);
      return `Added ${kind} #${item.id}.`;
    },
    itemsUrl,
  );
  action(
    "/items/:kind/:n/done",
    async (req) => {
      const item = await items.completeItem(tenantOf(req), itemKind(req), itemNumber(req));
      return `Done: ${item.text}`;
    },
    itemsUrl,
  );
  action(
    "/items/:kind/:n/remove",
    async (req) => {
      const item = await items.removeItem(tenantOf(req), itemKind(req), itemNumber(req));
      return `Removed: ${item.text}`;
    },
    itemsUrl,
  );

  // ---- briefings

  app.get("/briefings", async (req: Req, reply) =>
    sendPage(reply, briefingsPage(ctx(req), await deps.briefings.dates(tenantOf(req)))),
  );
  app.get("/briefings/:date", async (req: Req, reply) => {
    const date = req.params.date as string;
    const markdown = isBriefingDate(date) ? await deps.briefings.read(tenantOf(req), date) : null;
    if (markdown === null)
      return sendPage(reply, errorPage(ctx(req), 404, `There is no briefing of ${date}.`), 404);
    return sendPage(reply, briefingPage(ctx(req), date, renderMarkdown(markdown)));
  });

  // ---- settings

  const settingsText = (tenant: Tenant) => {
    const s = servers.settings(tenant);
    return Object.fromEntries(SETTING_FIELDS.map((f) => [f.label, s[f.key] ?? ""]));
  };
  app.get("/settings", async (req: Req, reply) =>
    sendPage(reply, settingsPage(ctx(req), settingsText(tenantOf(req)), null)),
  );
  app.post("/settings", async (req: Req, reply) => {
    const tenant = tenantOf(req);
    const before = settingsText(tenant);
    const body = req.body ?? {};
    const patch: Record<string, string | null> = {};
    for (const { key, label } of SETTING_FIELDS) {
      const text = (body[label] ?? "").trim();
      if (text !== before[label]) patch[key] = text || null;
    }
    try {
      await servers.setSettings(tenant, patch as SettingsPatch);
      return flashAndGo(req, reply, `${base(req)}/settings`, "Settings saved.");
    } catch (err) {
      return sendPage(reply, settingsPage(ctx(req), body, formProblem(err)), statusOf(err));
    }
  });
};

/** A refusal a form shows above its fields, marking the one it names; anything else is thrown on. */
function formProblem(err: unknown): { field: string | null; message: string } {
  if (!(err instanceof MissionControlError)) throw err;
  return { field: err instanceof ValidationError ? err.field : null, message: err.message };
}

function parseOptions(text: string): Record<string, unknown> {
  const problem = 'must be a JSON object of the handler\'s options, e.g. {"upcomingDays": 3}';
  let value: unknown;
  try {
    value = JSON.parse(text || "{}");
  } catch {
    throw new ValidationError("options", problem);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new ValidationError("options", problem);
  return value as Record<string, unknown>;
}

function itemNumber(req: Req): number {
  const n = Number(req.params.n);
  if (!Number.isInteger(n) || n < 1)
    throw new ValidationError("id", `"${req.params.n}" is not an item number`, "3");
  return n;
}

export type { FastifyReply };
