import { chmod, rm } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { MissionControlError, ValidationError } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { API_METHODS, type ApiMethod, type Services, target } from "./api.ts";

// DATA_DIR/control.sock: lets the CLI manage tasks while the bot holds the store. One JSON
// request per line ({method, args}), one JSON response per line. Only the service's own use
// cases can be called; the socket is readable by this user only.

export interface WireError {
  name: string;
  message: string;
  field?: string;
}

export type WireResponse = { ok: true; result: unknown } | { ok: false; error: WireError };

const MAX_LINE = 1_000_000;

export async function startControlServer(
  socketPath: string,
  services: Services,
  log: Logger,
): Promise<{ close(): Promise<void> } | null> {
  // We hold the data dir's lock, so a socket file here is a dead instance's.
  await rm(socketPath, { force: true });
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let buffer = "";
    socket.on("data", (chunk) => {
      buffer += chunk.toString("utf8");
      if (buffer.length > MAX_LINE) {
        socket.destroy();
        return;
      }
      let newline = buffer.indexOf("\n");
      while (newline >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        void answer(line).then((response) => {
          if (!socket.destroyed) socket.write(`${JSON.stringify(response)}\n`);
        });
        newline = buffer.indexOf("\n");
      }
    });
  });

  async function answer(line: string): Promise<WireResponse> {
    try {
      const request = JSON.parse(line) as { method?: unknown; args?: unknown };
      const method = request.method as ApiMethod;
      if (!API_METHODS.includes(method) || !Array.isArray(request.args)) {
        throw new MissionControlError(`unknown control request "${String(request.method)}"`);
      }
      const self = target(services, method);
      const fn = self[method] as (...args: unknown[]) => unknown;
      const result = await fn.apply(self, request.args);
      return { ok: true, result: result ?? null };
    } catch (err) {
      if (!(err instanceof MissionControlError)) log.error({ err }, "control request failed");
      const e = err as Error;
      return {
        ok: false,
        error: {
          name: e?.name ?? "Error",
          message: e?.message ?? String(err),
          field: err instanceof ValidationError ? err.field : undefined,
        },
      };
    }
  }

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      // Created under umask 077, so the socket is never open to others, not even until chmod.
      const umask = process.umask(0o077);
      try {
        server.listen(socketPath, () => resolve());
      } finally {
        process.umask(umask);
      }
    });
    await chmod(socketPath, 0o600);
  } catch (err) {
    log.warn({ err, socketPath }, "control socket unavailable: the CLI cannot reach this instance");
    return null;
  }
  return {
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(socketPath, { force: true });
    },
  };
}
