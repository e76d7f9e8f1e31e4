// A child process for the kill -9 test: opens the store and adds goals as fast as it can, a few
// at a time, printing "ack N" once goal N is durable. The parent kills it mid-burst.
import { openStore } from "../../src/store/store.ts";

const dataDir = process.argv[2] as string;
const store = await openStore({ dataDir });
const start = store.data.nextGoalId;
let next = start;
process.stdout.write("ready\n");
for (;;) {
  const batch = Array.from({ length: 8 }, () => {
    const id = next++;
    return store
      .update((db) => {
        db.goals.push({
          id,
          text: `goal ${id}`,
          createdAt: new Date().toISOString(),
          doneAt: null,
        });
        db.nextGoalId = Math.max(db.nextGoalId, id + 1);
      })
      .then(() => process.stdout.write(`ack ${id}\n`));
  });
  await Promise.all(batch);
}
