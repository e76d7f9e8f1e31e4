import type { FastifyInstance, FastifyReply } from "fastify";
import { LoginError } from "../oauth.ts";
import { SESSION_COOKIE, sendPage, type WebDeps } from "../server.ts";
import { SESSION_TTL_MS, type Viewer } from "../sessions.ts";
import { loginPage } from "../views/pages.ts";
import { serversPage } from "../views/servers.ts";

// Logging in and out: the local one-time link, "Log in with Discord", and the home page, which
// is the login page until then.

const OAUTH_COOKIE = "mc_oauth";
/** Attempts per address per minute on the login routes. */
const LOGIN_RATE = { rateLimit: { max: 10, timeWindow: 60_000 } };

export const authRoutes = (deps: WebDeps) => async (app: FastifyInstance) => {
  const cookie = {
    httpOnly: true,
    sameSite: "lax",
    secure: deps.secureCookies,
    path: "/",
  } as const;

  function logIn(reply: FastifyReply, viewer: Viewer) {
    const session = deps.sessions.create(viewer);
    deps.log.info(
      { viewer: viewer.kind === "discord" ? viewer.userId : "operator" },
      "dashboard login",
    );
    return reply
      .setCookie(SESSION_COOKIE, session.id, { ...cookie, maxAge: SESSION_TTL_MS / 1000 })
      .redirect("/", 303);
  }

  app.get("/", async (req, reply) => {
    if (!req.session) return sendPage(reply, loginPage({ session: null }, !!deps.oauth, null));
    const servers = await deps.access.servers(req.session.viewer);
    return sendPage(reply, serversPage({ session: req.session }, servers));
  });

  app.get<{ Querystring: { token?: string } }>(
    "/login/local",
    { config: LOGIN_RATE },
    async (req, reply) => {
      if (req.query.token && deps.logins.redeem(req.query.token))
        return logIn(reply, { kind: "operator", name: "operator" });
      return sendPage(
        reply,
        loginPage(
          { session: null },
          !!deps.oauth,
          "This login link was already used or has expired. Get a new one with: npm run cli -- dashboard-link",
        ),
        401,
      );
    },
  );

  app.get("/login/discord", { config: LOGIN_RATE }, async (_req, reply) => {
    if (!deps.oauth)
      return sendPage(
        reply,
        loginPage(
          { session: null },
          false,
          "Log in with Discord is not set up here (DISCORD_CLIENT_SECRET).",
        ),
        404,
      );
    const { url, state } = deps.oauth.start();
    // The state must come back to the browser that started the login (no login CSRF).
    return reply.setCookie(OAUTH_COOKIE, state, { ...cookie, maxAge: 600 }).redirect(url, 302);
  });

  app.get<{ Querystring: { code?: string; state?: string; error?: string } }>(
    "/auth/callback",
    { config: LOGIN_RATE },
    async (req, reply) => {
      const { code, state, error } = req.query;
      const expected = req.cookies[OAUTH_COOKIE];
      reply.clearCookie(OAUTH_COOKIE, { path: "/" });
      const fail = (message: string) =>
        sendPage(reply, loginPage({ session: null }, !!deps.oauth, message), 400);
      if (!deps.oauth) return fail("Log in with Discord is not set up here.");
      if (error)
        return fail(
          "Discord did not authorize the login (it was cancelled). Try again when you are ready.",
        );
      if (!code || !state || !expected || state !== expected)
        return fail("This login did not start in this browser, or took too long; log in again.");
      try {
        return logIn(reply, await deps.oauth.finish(state, code));
      } catch (err) {
        if (err instanceof LoginError) return fail(err.message);
        throw err;
      }
    },
  );

  app.post("/logout", async (req, reply) => {
    if (req.session) deps.sessions.delete(req.session.id);
    return reply.clearCookie(SESSION_COOKIE, { path: "/" }).redirect("/", 303);
  });
};
