import { NotFoundError, ValidationError } from "../shared/errors.ts";
import type { Store } from "../store/store.ts";
import { type Clock, isRealDate } from "../time/clock.ts";
import { type Goal, type Reminder, ServerSchema } from "./model.ts";
import type { Tenant } from "./tenant.ts";

// Goals and reminders are one kind of thing, a short numbered item the briefing lists, and
// differ only in that a reminder may be due on a date. One service, one slash command factory
// (commands/items.ts) and one set of CLI commands (cli/item-commands.ts) serve both.

export const ITEM_KINDS = {
  goal: {
    noun: "goal",
    plural: "goals",
    nextId: "nextGoalId",
    dated: false,
    /** What the list holds: the active goals, the open reminders. */
    open: "active",
    example: "Ship the v1 release",
  },
  reminder: {
    noun: "reminder",
    plural: "reminders",
    nextId: "nextReminderId",
    dated: true,
    open: "open",
    example: "Renew the domain",
  },
} as const;

export type ItemKind = keyof typeof ITEM_KINDS;
export type ItemOf<K extends ItemKind> = K extends "goal" ? Goal : Reminder;
export type Item = Goal | Reminder;

function itemText(raw: unknown, example: string): string {
  const text = typeof raw === "string" ? raw.trim() : "";
  if (!text) throw new ValidationError("text", "must not be empty", example);
  if (text.length > 500) throw new ValidationError("text", "at most 500 characters", example);
  return text;
}

function dueDate(raw: string | null | undefined): string | null {
  if (raw === undefined || raw === null || raw.trim() === "") return null;
  const due = raw.trim();
  if (!isRealDate(due))
    throw new ValidationError("due", `"${raw}" is not a date; use YYYY-MM-DD`, "2026-12-24");
  return due;
}

export class ItemService {
  constructor(private readonly deps: { store: Store; clock: Clock }) {}

  /** A tenant's open items; reminders soonest due first, undated last. */
  listItems<K extends ItemKind>(
    tenant: Tenant,
    kind: K,
    { includeDone = false } = {},
  ): ItemOf<K>[] {
    const items = (this.#list(kind) as ItemOf<K>[]).filter(
      (i) => i.guildId === tenant && (includeDone || !i.doneAt),
    );
    if (!ITEM_KINDS[kind].dated) return items;
    const due = (i: Item) => ("due" in i && i.due) || "9999";
    return items.sort((a, b) => due(a).localeCompare(due(b)) || a.id - b.id);
  }

  /** `due` (YYYY-MM-DD) is for reminders; a goal has none. */
  async addItem<K extends ItemKind>(
    tenant: Tenant,
    kind: K,
    text: string,
    due?: string | null,
  ): Promise<ItemOf<K>> {
    const { plural, nextId, dated, example } = ITEM_KINDS[kind];
    const clean = itemText(text, example);
    const date = dated ? dueDate(due) : undefined;
    return this.deps.store.update((db) => {
      // Numbers count per tenant, and are never reused.
      const i = db.servers.findIndex((s) => s.id === tenant);
      const server = db.servers[i] ?? ServerSchema.parse({ id: tenant });
      const item = {
        guildId: tenant,
        id: server[nextId],
        text: clean,
        ...(dated ? { due: date } : {}),
        createdAt: new Date(this.deps.clock.now()).toISOString(),
        doneAt: null,
      } as ItemOf<K>;
      const counted = { ...server, [nextId]: server[nextId] + 1 };
      if (i < 0) db.servers.push(counted);
      else db.servers[i] = counted;
      (db[plural] as Item[]).push(item);
      return item;
    });
  }

  async completeItem<K extends ItemKind>(tenant: Tenant, kind: K, id: number): Promise<ItemOf<K>> {
    return this.deps.store.update((db) => {
      const item = this.#find(tenant, kind, id);
      if (item.doneAt) return item;
      const done = { ...item, doneAt: new Date(this.deps.clock.now()).toISOString() };
      const { plural } = ITEM_KINDS[kind];
      (db[plural] as Item[]) = (db[plural] as Item[]).map((i) => (i === item ? done : i));
      return done;
    });
  }

  async removeItem<K extends ItemKind>(tenant: Tenant, kind: K, id: number): Promise<ItemOf<K>> {
    return this.deps.store.update((db) => {
      const item = this.#find(tenant, kind, id);
      const { plural } = ITEM_KINDS[kind];
      (db[plural] as Item[]) = (db[plural] as Item[]).filter((i) => i !== item);
      return item;
    });
  }

  #list(kind: ItemKind): Item[] {
    return this.deps.store.data[ITEM_KINDS[kind].plural];
  }

  #find<K extends ItemKind>(tenant: Tenant, kind: K, id: number): ItemOf<K> {
    const item = this.#list(kind).find((i) => i.guildId === tenant && i.id === id);
    const { noun, plural } = ITEM_KINDS[kind];
    if (!item) throw new NotFoundError(noun, id, `list the ${plural} to see their ids`);
    return item as ItemOf<K>;
  }
}
