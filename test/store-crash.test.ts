import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openStore } from "../src/store/store.ts";
import { tempDir } from "./support/world.ts";

const ROUNDS = 50;

/** Starts the burst writer, kills it with SIGKILL after `afterAcks` acknowledgements. */
function burstAndKill(
  dataDir: string,
  afterAcks: number,
): Promise<{ acked: number[]; done: number[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(__dirname, "support", "write-burst.ts"), dataDir],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    const acked: number[] = [];
    const done: number[] = [];
    let buffer = "";
    child.stdout.on("data", (chunk) => {
      buffer += chunk;
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) {
        const m = /^(ack|done) (\d+)$/.exec(line);
        if (m) (m[1] === "ack" ? acked : done).push(Number(m[2]));
        if (acked.length >= afterAcks && !child.killed) child.kill("SIGKILL");
      }
    });
    child.on("error", reject);
    child.on("exit", (_code, signal) =>
      signal === "SIGKILL"
        ? resolve({ acked, done })
        : reject(new Error(`writer exited without being killed (${signal})`)),
    );
  });
}

describe("store under kill -9", () => {
  it(`keeps every acknowledged change, over ${ROUNDS} kills mid-burst`, async () => {
    const dir = await tempDir();
    try {
      const acknowledged = new Set<number>();
      const completed = new Set<number>();
      for (let round = 0; round < ROUNDS; round++) {
        const acks = await burstAndKill(dir.path, 20 + Math.floor(Math.random() * 200));
        for (const id of acks.acked) acknowledged.add(id);
        for (const id of acks.done) completed.add(id);
        // A valid db.json after every kill; the dead writer's lock is stale and taken over.
        JSON.parse(await readFile(join(dir.path, "db.json"), "utf8"));
        const store = await openStore({ dataDir: dir.path });
        const stored = new Map(store.data.goals.map((g) => [g.id, g]));
        await store.close();
        const lost = [...acknowledged].filter((id) => !stored.has(id));
        expect(lost, `round ${round}: acknowledged but lost`).toEqual([]);
        const undone = [...completed].filter((id) => !stored.get(id)?.doneAt);
        expect(undone, `round ${round}: acknowledged as done but not done`).toEqual([]);
      }
      expect(acknowledged.size).toBeGreaterThan(ROUNDS * 20);
      expect(completed.size).toBeGreaterThan(ROUNDS);
      if (process.env.CRASH_STATS)
        console.log(
          `kill -9 rounds: ${ROUNDS}, acknowledged: ${acknowledged.size} adds and ${completed.size} edits, lost: 0`,
        );
    } finally {
      await dir.remove();
    }
  }, 120_000);
});
