import { timingSafeEqual } from "node:crypto";
import fastifyCookie from "@fastify/cookie";
import fastifyFormbody from "@fastify/formbody";
import fastifyRateLimit from "@fastify/rate-limit";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from "fastify";
import type { BriefingArchive } from "../outputs/briefing-archive.ts";
import {
  AlreadyRunningError,
  ConflictError,
  MissionControlError,
  NotFoundError,
  QuotaError,
  ValidationError,
} from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import type { ItemService } from "../tasks/items.ts";
import type { ServerService } from "../tasks/servers.ts";
import type { TaskService } from "../tasks/task-service.ts";
import type { ServerAccess } from "./access.ts";
import { CSS, JS } from "./assets.ts";
import type { Metrics } from "./metrics.ts";
import type { DiscordOAuth } from "./oauth.ts";
import { authRoutes } from "./routes/auth-routes.ts";
import { opsRoutes } from "./routes/ops-routes.ts";
import { serverRoutes } from "./routes/server-routes.ts";
import type { LocalLogins, Session, SessionStore } from "./sessions.ts";
import { errorPage } from "./views/pages.ts";

// The dashboard's HTTP server: plugins, security headers, sessions and CSRF, and the mapping of
// the services' typed errors to pages. Routes live in routes/; pages in views/. It talks to the
// same services as the slash commands and the CLI.

export interface WebDeps {
  tasks: TaskService;
  items: ItemService;
  servers: ServerService;
  access: ServerAccess;
  briefings: BriefingArchive;
  metrics: Metrics;
  /** Discord connected (null: headless) and the scheduler running. */
  health: () => { discord: boolean | null; scheduler: boolean };
  /** Null when DISCORD_CLIENT_SECRET is not set (or headless): local login only. */
  oauth: DiscordOAuth | null;
  logins: LocalLogins;
  sessions: SessionStore;
  now: () => number;
  log: Logger;
  /** Cookies only over HTTPS (PUBLIC_URL is https). */
  secureCookies: boolean;
  metricsToken?: string;
}

export const SESSION_COOKIE = "mc_session";

declare module "fastify" {
  interface FastifyRequest {
    session: Session | null;
  }
}

/** No inline script or style; forms post only here; nothing may frame the pages. */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export const sameSecret = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** The HTTP status of a refusal, by its class. */
export function statusOf(err: unknown): number {
  if (err instanceof ValidationError) return 422;
  if (err instanceof NotFoundError) return 404;
  if (err instanceof ConflictError || err instanceof AlreadyRunningError) return 409;
  if (err instanceof QuotaError) return 429;
  return 400;
}

export async function createWebServer(deps: WebDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log.child({ component: "dashboard" }) as FastifyBaseLogger,
    // Request lines would carry login tokens in query strings; errors are logged below.
    logController: new LogController({ disableRequestLogging: true }),
    // A reverse proxy on this machine says who the client is (rate limits count per client).
    trustProxy: "loopback",
    bodyLimit: 64 * 1024,
  });
  await app.register(fastifyCookie);
  await app.register(fastifyFormbody);
  await app.register(fastifyRateLimit, { global: false });
  app.decorateRequest("session", null);

  app.addHook("onRequest", async (req, reply) => {
    reply.header("content-security-policy", CSP);
    reply.header("x-content-type-options", "nosniff");
    reply.header("referrer-policy", "same-origin");
    reply.header("x-frame-options", "DENY");
    req.session = deps.sessions.get(req.cookies[SESSION_COOKIE]);
  });
  // Every form carries the session's CSRF token: a POST without it changes nothing.
  app.addHook("preHandler", async (req, reply) => {
    if (req.method !== "POST") return;
    const sent = (req.body as Record<string, unknown> | undefined)?._csrf;
    if (!req.session || typeof sent !== "string" || !sameSecret(sent, req.session.csrf)) {
      return reply
        .code(403)
        .type("text/html")
        .send(
          errorPage(
            { session: req.session },
            403,
            "This form has expired or did not come from this dashboard; nothing was changed. Reload the page and try again.",
          ),
        );
    }
  });

  app.setErrorHandler(async (err, req, reply) => {
    const ctx = { session: req.session };
    if (err instanceof MissionControlError) {
      return reply
        .code(statusOf(err))
        .type("text/html")
        .send(errorPage(ctx, statusOf(err), err.message));
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status < 500) {
      return reply
        .code(status)
        .type("text/html")
        .send(errorPage(ctx, status, (err as Error).message));
    }
    deps.log.error({ err, url: req.routeOptions.url }, "dashboard request failed");
    return reply
      .code(500)
      .type("text/html")
      .send(errorPage(ctx, 500, "Something went wrong on our side; it was logged. Try again."));
  });
  app.setNotFoundHandler(async (req, reply) =>
    reply
      .code(404)
      .type("text/html")
      .send(errorPage({ session: req.session }, 404, "There is no such page.")),
  );

  app.get("/assets/app.css", async (_req, reply) =>
    reply.type("text/css").header("cache-control", "public, max-age=3600").send(CSS),
  );
  app.get("/assets/app.js", async (_req, reply) =>
    reply.type("text/javascript").header("cache-control", "public, max-age=3600").send(JS),
  );
  await app.register(opsRoutes(deps));
  await app.register(authRoutes(deps));
  await app.register(serverRoutes(deps), { prefix: "/s/:server" });
  return app;
}

/** Sends a page; the type is always HTML. */
export const sendPage = (reply: FastifyReply, html: string, status = 200) =>
  reply.code(status).type("text/html; charset=utf-8").send(html);

/** A one-time notice on the next page, then back to `to` (POST, redirect, GET). */
export function flashAndGo(
  req: FastifyRequest,
  reply: FastifyReply,
  to: string,
  text: string,
  kind: "ok" | "error" = "ok",
) {
  if (req.session) req.session.flash = { kind, text };
  return reply.redirect(to, 303);
}
