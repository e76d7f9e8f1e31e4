import { connect } from "node:net";
import { ConflictError, MissionControlError, ValidationError } from "../shared/errors.ts";
import { API_METHODS, REVIVERS, type ServiceApi } from "./api.ts";
import type { WireResponse } from "./server.ts";

/** The running instance's service over its control socket; rejects if nothing listens there. */
export async function connectControl(
  socketPath: string,
): Promise<{ api: ServiceApi; close(): void }> {
  const socket = connect(socketPath);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const waiting: ((r: WireResponse) => void)[] = [];
  let buffer = "";
  socket.on("data", (chunk) => {
    buffer += chunk.toString("utf8");
    let newline = buffer.indexOf("\n");
    while (newline >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      waiting.shift()?.(JSON.parse(line) as WireResponse);
      newline = buffer.indexOf("\n");
    }
  });
  const fail = (err: Error) => {
    for (const w of waiting.splice(0))
      w({ ok: false, error: { name: "Error", message: err.message } });
  };
  socket.on("error", fail);
  socket.on("close", () => fail(new Error("the running instance closed the connection")));

  // One request at a time: responses come back in order.
  let queue: Promise<unknown> = Promise.resolve();
  const call = (method: (typeof API_METHODS)[number], args: unknown[]) => {
    const result = queue.then(
      () =>
        new Promise<unknown>((resolve, reject) => {
          waiting.push((r) => {
            if (r.ok) return resolve(REVIVERS[method] ? REVIVERS[method](r.result) : r.result);
            const e = r.error;
            reject(
              e.field
                ? new ValidationError(e.field, e.message.replace(`${e.field}: `, ""))
                : e.name === "ConflictError"
                  ? new ConflictError(e.message)
                  : new MissionControlError(e.message),
            );
          });
          socket.write(`${JSON.stringify({ method, args })}\n`);
        }),
    );
    queue = result.catch(() => {});
    return result;
  };
  const api: Record<string, unknown> = {};
  for (const method of API_METHODS) api[method] = (...args: unknown[]) => call(method, args);
  return { api: api as ServiceApi, close: () => socket.end() };
}
