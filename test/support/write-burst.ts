// A child process for the kill -9 test: opens the store and adds goals as fast as it can, a few
// at a time, marking an earlier one done in each batch; it prints "ack N" once goal N is
// durable and "done N" once its being done is. A small journal limit makes db.json rewrites
// (compactions) frequent, so kills land in those too. The parent kills it mid-burst.
import { openStore } from "../../src/store/store.ts";

const dataDir = process.argv[2] as string;
const store = await openStore({ dataDir, compactAt: 4096 });
let next = store.data.goals.reduce((max, g) => Math.max(max, g.id), 0) + 1;
process.stdout.write("ready\n");
for (;;) {
  const batch = Array.from({ length: 8 }, () => {
    const id = next++;
    return store
      .update((db) => {
        db.goals.push({
          guildId: "local",
          id,
          text: `goal ${id}`,
          createdAt: new Date().toISOString(),
          doneAt: null,
        });
      })
      .then(() => process.stdout.write(`ack ${id}\n`));
  });
  const open = store.data.goals.filter((g) => !g.doneAt);
  const pick = open[Math.floor(Math.random() * open.length)];
  if (pick) {
    const done = { ...pick, doneAt: new Date().toISOString() };
    batch.push(
      store
        .update((db) => {
          db.goals = db.goals.map((g) => (g.id === pick.id ? done : g));
        })
        .then(() => process.stdout.write(`done ${pick.id}\n`)),
    );
  }
  await Promise.all(batch);
}
