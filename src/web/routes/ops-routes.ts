import type { FastifyInstance } from "fastify";
import { sameSecret, type WebDeps } from "../server.ts";

// For machines: GET /healthz for a load balancer or systemd watchdog, GET /metrics for
// Prometheus (behind METRICS_TOKEN when set).

export const opsRoutes = (deps: WebDeps) => async (app: FastifyInstance) => {
  app.get("/healthz", async (_req, reply) => {
    const { discord, scheduler } = deps.health();
    const ok = scheduler && discord !== false;
    return reply.code(ok ? 200 : 503).send({
      ok,
      discord: discord === null ? "headless" : discord ? "connected" : "disconnected",
      scheduler: scheduler ? "running" : "stopped",
    });
  });

  app.get("/metrics", async (req, reply) => {
    if (deps.metricsToken) {
      const sent = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1] ?? "";
      if (!sameSecret(sent, deps.metricsToken))
        return reply
          .code(401)
          .header("www-authenticate", "Bearer")
          .type("text/plain")
          .send("GET /metrics needs the header Authorization: Bearer <METRICS_TOKEN>\n");
    }
    const { registry } = deps.metrics;
    return reply.type(registry.contentType).send(await registry.metrics());
  });
};
