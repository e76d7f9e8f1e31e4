import type { Tenant } from "./tenant.ts";

/**
 * Values by tenant and task id. A map per tenant rather than one keyed by recordKey: the
 * scheduler and the runner look a task up for every run, and with thousands due at once a key
 * string built (and hashed) per lookup shows in how late the last handler starts.
 */
export class ByTask<V> {
  readonly #tenants = new Map<Tenant, Map<string, V>>();

  get(tenant: Tenant, id: string): V | undefined {
    return this.#tenants.get(tenant)?.get(id);
  }

  set(tenant: Tenant, id: string, value: V): void {
    let ids = this.#tenants.get(tenant);
    if (!ids) {
      ids = new Map();
      this.#tenants.set(tenant, ids);
    }
    ids.set(id, value);
  }

  delete(tenant: Tenant, id: string): void {
    const ids = this.#tenants.get(tenant);
    ids?.delete(id);
    if (ids?.size === 0) this.#tenants.delete(tenant);
  }

  get size(): number {
    let size = 0;
    for (const ids of this.#tenants.values()) size += ids.size;
    return size;
  }

  clear(): void {
    this.#tenants.clear();
  }

  *values(): IterableIterator<V> {
    for (const ids of this.#tenants.values()) yield* ids.values();
  }
}
