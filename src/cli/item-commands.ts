import type { Command } from "commander";
import type { TenantApi } from "../control/api.ts";
import { MissionControlError } from "../shared/errors.ts";
import { ITEM_KINDS, type ItemKind } from "../tasks/items.ts";
import { zonedParts } from "../time/timezone.ts";
import { itemList } from "./format.ts";

// `goals` and `reminders`: list, add, done, remove. One definition for both kinds; a reminder
// also takes --due.

const GROUP: Record<ItemKind, string> = {
  goal: "goals shown in the daily briefing",
  reminder: "reminders, optionally with a due date",
};

function numericId(kind: string, raw: string): number {
  const id = Number(raw.replace(/^#/, ""));
  if (!Number.isInteger(id) || id < 1)
    throw new MissionControlError(`${kind} id: a number from the list, e.g. 3 (got "${raw}")`);
  return id;
}

export function addItemCommands(
  program: Command,
  kind: ItemKind,
  service: () => Promise<TenantApi>,
  io: { out(text: string): void },
): void {
  const { noun, plural, dated } = ITEM_KINDS[kind];
  const group = program.command(plural).alias(noun).description(GROUP[kind]);
  group
    .command("list")
    .option("--all", `include done ${plural}`)
    .option("--json", "print JSON (for scripts) instead of a list")
    .action(async (o: { all?: boolean; json?: boolean }) => {
      const s = await service();
      const items = await s.listItems(kind, { includeDone: o.all });
      if (o.json) return io.out(JSON.stringify(items, null, 2));
      const today = zonedParts(Date.now(), (await s.settings()).timezone).date;
      io.out(itemList(kind, items, today));
    });
  const add = group.command("add <text...>");
  if (dated) add.option("--due <date>", "due date, YYYY-MM-DD");
  add.action(async (words: string[], o: { due?: string }) => {
    const item = await (await service()).addItem(kind, words.join(" "), o.due);
    const due = "due" in item && item.due ? ` (due ${item.due})` : "";
    io.out(`Added ${noun} #${item.id}${due}: ${item.text}`);
  });
  group.command("done <id>").action(async (id: string) => {
    const item = await (await service()).completeItem(kind, numericId(noun, id));
    io.out(`Done: #${item.id} ${item.text}`);
  });
  group.command("remove <id>").action(async (id: string) => {
    const item = await (await service()).removeItem(kind, numericId(noun, id));
    io.out(`Removed ${noun} #${item.id}: ${item.text}`);
  });
}
