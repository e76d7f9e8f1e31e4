// What the journal records: the difference between two states of the db, item by item. Items
// in a list (tasks, goals, reminders) are found by their key — `id`, with the tenant before it
// when they belong to one (two servers may each have a task "backup") — and never changed in
// place once written:
// a change replaces the item, so "changed" is a cheap identity check rather than a deep compare.
// Written items are frozen, so an in-place change fails loudly instead of being lost.

type Id = string | number;
type Item = { readonly id: Id; readonly guildId?: string };
type Raw = Record<string, unknown>;

/** An item's key in its list: unique across tenants. */
export const itemKey = (item: Item): Id =>
  item.guildId === undefined ? item.id : `${item.guildId}/${item.id}`;

/** One change. Whole items replace whole items, so replaying a change twice does no harm. */
export type Change = ["put", string, Item] | ["del", string, Id] | ["set", string, unknown];

export class ChangeTracker {
  /** list key -> item key -> the item as last written */
  #items = new Map<string, Map<Id, Item>>();
  /** Every item as last written: an item still there unchanged is the same object. */
  #written = new WeakSet<Item>();
  #values = new Map<string, unknown>();

  /** Makes `db` (as it is on disk) the state the next `diff` compares with. */
  reset(db: object): void {
    this.#items.clear();
    this.#values.clear();
    this.#written = new WeakSet();
    for (const [key, value] of Object.entries(db)) {
      if (Array.isArray(value)) {
        const byId = new Map<Id, Item>();
        for (const item of value as Item[]) {
          byId.set(itemKey(item), deepFreeze(item));
          this.#written.add(item);
        }
        this.#items.set(key, byId);
      } else this.#values.set(key, value);
    }
  }

  /** The changes from the last state to `db`, which becomes the state compared with next. */
  diff(db: object): Change[] {
    const changes: Change[] = [];
    for (const [key, value] of Object.entries(db)) {
      if (!Array.isArray(value)) {
        if (this.#values.get(key) !== value) changes.push(["set", key, value]);
        this.#values.set(key, value);
        continue;
      }
      const before = this.#items.get(key) ?? new Map<Id, Item>();
      for (const item of value as Item[]) {
        // Unchanged items (nearly all of them) are found without making their key.
        if (this.#written.has(item)) continue;
        changes.push(["put", key, deepFreeze(item)]);
        before.set(itemKey(item), item);
        this.#written.add(item);
      }
      // Every id still listed was matched or added; if the counts differ, some are gone.
      if (before.size !== value.length) {
        const listed = new Set((value as Item[]).map(itemKey));
        for (const id of before.keys()) {
          if (!listed.has(id)) {
            changes.push(["del", key, id]);
            before.delete(id);
          }
        }
      }
      this.#items.set(key, before);
    }
    return changes;
  }
}

/** Applies changes, in order, to a plain (parsed, not yet validated) db object. */
export function applyChanges(db: Raw, changes: Change[]): void {
  const positions = new Map<string, Map<Id, number>>();
  const positionsOf = (key: string, list: Item[]) => {
    let map = positions.get(key);
    if (!map) {
      map = new Map(list.map((item, i) => [itemKey(item), i]));
      positions.set(key, map);
    }
    return map;
  };
  for (const change of changes) {
    const [op, key] = change;
    if (op === "set") {
      db[key] = change[2];
      continue;
    }
    if (!Array.isArray(db[key])) db[key] = [];
    const list = db[key] as Item[];
    const at = positionsOf(key, list);
    if (op === "put") {
      const item = change[2];
      const i = at.get(itemKey(item));
      if (i === undefined) at.set(itemKey(item), list.push(item) - 1);
      else list[i] = item;
    } else {
      db[key] = list.filter((item) => itemKey(item) !== change[2]);
      positions.delete(key);
    }
  }
}

export function isChange(value: unknown): value is Change {
  if (!Array.isArray(value) || value.length !== 3 || typeof value[1] !== "string") return false;
  const [op, , arg] = value;
  if (op === "set") return true;
  if (op === "del") return typeof arg === "string" || typeof arg === "number";
  return (
    op === "put" &&
    typeof arg === "object" &&
    arg !== null &&
    (typeof arg.id === "string" || typeof arg.id === "number")
  );
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    // for-in, not Object.values: no array per object (10,000 tasks are frozen at every start).
    for (const key in value) deepFreeze(value[key]);
  }
  return value;
}
