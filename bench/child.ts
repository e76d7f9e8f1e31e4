// One measurement in a process of its own: `node dist/bench/child.js <kind> <json args>`.
// Reports one JSON result on stdout (see report() in lib.ts). Started by bench/index.ts.

import { report } from "./lib.ts";

const [kind = "", raw = "{}"] = process.argv.slice(2);
const args = JSON.parse(raw);

const kinds: Record<string, (a: never) => Promise<unknown>> = {
  lag: async (a) => (await import("./lag.ts")).lagChild(a),
  startup: async (a) => (await import("./startup.ts")).startupChild(a),
  mutation: async (a) => (await import("./mutation.ts")).mutationChild(a),
  sustained: async (a) => (await import("./sustained.ts")).sustainedChild(a),
  briefing: async (a) => (await import("./briefing.ts")).briefingChild(a),
  split: async (a) => (await import("./split.ts")).splitChild(a),
  servers: async (a) => (await import("./servers.ts")).serversChild(a),
  posting: async (a) => (await import("./posting.ts")).postingChild(a),
  history: async (a) => (await import("./lifecycle.ts")).historyChild(a),
  gap: async (a) => (await import("./lifecycle.ts")).gapChild(a),
  disk: async (a) => (await import("./lifecycle.ts")).diskChild(a),
  "dashboard-data": async (a) => (await import("./dashboard.ts")).dataChild(a),
  "dashboard-page": async (a) => (await import("./dashboard.ts")).pageChild(a),
  "dashboard-rss": async (a) => (await import("./dashboard.ts")).rssChild(a),
  "dashboard-load": async (a) => (await import("./dashboard.ts")).loadChild(a),
  "dashboard-lag": async (a) => (await import("./dashboard.ts")).loadLagChild(a),
  "pg-bot": async (a) => (await import("./postgres-bot.ts")).botChild(a),
};

const run = kinds[kind];
if (!run) {
  process.stderr.write(`unknown bench child kind: ${kind}\n`);
  process.exit(2);
}
await report(await run(args as never));
process.exit(0);
