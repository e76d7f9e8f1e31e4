import { z } from "zod";
import { ValidationError } from "../shared/errors.ts";

// Every record belongs to one server (its guild id) or to `local`: headless mode, and the CLI
// when no server is named. A tenant sees and changes only its own records.

export const LOCAL = "local";
export type Tenant = string;

export const TenantSchema = z.string().regex(/^(local|\d{17,20})$/);

/** A tenant as typed (the CLI's --server), checked. */
export function parseTenant(raw: string): Tenant {
  const tenant = raw.trim();
  if (!TenantSchema.safeParse(tenant).success) {
    throw new ValidationError(
      "server",
      `"${raw}" is not a server: use a Discord server id (17-20 digits) or "local"`,
      "123456789012345678",
    );
  }
  return tenant;
}

/** The key of a tenant's record among every tenant's: tasks and items are unique per tenant. */
export const recordKey = (tenant: Tenant, id: string | number): string => `${tenant}/${id}`;
