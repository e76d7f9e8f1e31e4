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
  /** Lists the next `diff` checks item by item: they may have been changed in place. */
  #scan = new Set<string>();
  /** list key -> item key -> the item now (undefined: removed), as told by `touch`. */
  #touched = new Map<string, Map<Id, Item | undefined>>();

  /** Makes `db` (as it is on disk) the state the next `diff` compares with. */
  reset(db: object): void {
    this.#items.clear();
    this.#values.clear();
    this.#scan.clear();
    this.#touched.clear();
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

  /**
   * The next `diff` checks this list item by item: it was handed out, so it may have been
   * changed in place (pushed to, spliced, replaced).
   */
  scan(key: string): void {
    this.#scan.add(key);
  }

  /**
   * The item with key `id` in list `key` is now `item` (undefined: removed from the list),
   * `appended` when it was added at the list's end. A list changed only this way since the last
   * `diff` is not scanned: the next `diff` looks at these items alone.
   */
  touch(key: string, id: Id, item: Item | undefined, appended: boolean): void {
    let items = this.#touched.get(key);
    if (!items) {
      items = new Map();
      this.#touched.set(key, items);
    }
    // New items go into the journal line in the order they are in the list, so that replaying
    // it appends them in that order.
    if (appended) items.delete(id);
    items.set(id, item);
  }

  /**
   * The item with key `id` in list `key` is stored as `item` (undefined: not stored) by someone
   * else (another process): the state the next `diff` compares with, not a change to write.
   */
  accept(key: string, id: Id, item: Item | undefined): void {
    let before = this.#items.get(key);
    if (!before) {
      before = new Map();
      this.#items.set(key, before);
    }
    if (item === undefined) this.#forget(before, id);
    else this.#remember(before, id, deepFreeze(item));
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
      const known = this.#items.get(key);
      const before = known ?? new Map<Id, Item>();
      if (known && !this.#scan.has(key)) {
        // Changed through `touch` alone: only the items it named can differ.
        for (const [id, item] of this.#touched.get(key) ?? []) {
          if (item === undefined) {
            if (this.#forget(before, id)) changes.push(["del", key, id]);
          } else if (before.get(id) !== item) {
            changes.push(["put", key, deepFreeze(item)]);
            this.#remember(before, id, item);
          }
        }
        // Every item is accounted for, unless the list was changed some other way.
        if (before.size === value.length) continue;
      }
      for (const item of value as Item[]) {
        // Unchanged items (nearly all of them) are found without making their key.
        if (this.#written.has(item)) continue;
        changes.push(["put", key, deepFreeze(item)]);
        this.#remember(before, itemKey(item), item);
      }
      // Every id still listed was matched or added; if the counts differ, some are gone.
      if (before.size !== value.length) {
        const listed = new Set((value as Item[]).map(itemKey));
        for (const id of before.keys()) {
          if (!listed.has(id)) {
            changes.push(["del", key, id]);
            this.#forget(before, id);
          }
        }
      }
      this.#items.set(key, before);
    }
    this.#scan.clear();
    this.#touched.clear();
    return changes;
  }

  /**
   * `item` is now written under `id`. The item it replaces leaves `#written`: put back later
   * (an edit undone), it is a change again.
   */
  #remember(before: Map<Id, Item>, id: Id, item: Item): void {
    const old = before.get(id);
    if (old) this.#written.delete(old);
    before.set(id, item);
    this.#written.add(item);
  }

  /** Whether there was an item `id` to forget. */
  #forget(before: Map<Id, Item>, id: Id): boolean {
    const old = before.get(id);
    if (!old) return false;
    this.#written.delete(old);
    before.delete(id);
    return true;
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
