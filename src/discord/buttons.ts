import { ActionRowBuilder, ButtonBuilder, ButtonStyle } from "discord.js";
import { recordKey, type Tenant } from "../tasks/tenant.ts";

// Every button the bot sends, each kind's custom id built and parsed here and nowhere else.
// Ids outlive the process (a DM alert can be clicked days later), so their form stays stable.

/** How many tasks one page of `/task list` shows. */
export const PAGE_SIZE = 10;

const LIST = "task-list:";
const ALERT = { run: "alert:run:", disable: "alert:disable:" } as const;
export type AlertAction = keyof typeof ALERT;

/** Prev / next buttons for `/task list`; their ids carry the page to show. */
export function pageButtons(page: number, total: number): ActionRowBuilder<ButtonBuilder>[] {
  const pages = Math.ceil(total / PAGE_SIZE);
  if (pages <= 1) return [];
  return [
    new ActionRowBuilder<ButtonBuilder>().addComponents(
      new ButtonBuilder()
        .setCustomId(`${LIST}${page - 1}`)
        .setLabel("◀ Previous")
        .setStyle(ButtonStyle.Secondary)
        .setDisabled(page <= 0),
      new ButtonBuilder()
        .setCustomId(`${LIST}${page + 1}`)
        .setLabel("Next ▶")
        .setStyle(ButtonStyle.Secondary)
        .setDisabled(page >= pages - 1),
    ),
  ];
}

/** The "Run again" and "Disable" buttons of a failure alert; the ids name the task's server. */
export function alertButtons(tenant: Tenant, taskId: string): ActionRowBuilder<ButtonBuilder> {
  return new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder()
      .setCustomId(`${ALERT.run}${recordKey(tenant, taskId)}`)
      .setLabel("Run again")
      .setStyle(ButtonStyle.Primary),
    new ButtonBuilder()
      .setCustomId(`${ALERT.disable}${recordKey(tenant, taskId)}`)
      .setLabel("Disable")
      .setStyle(ButtonStyle.Danger),
  );
}

export type ParsedButton =
  | { kind: "list"; page: number }
  /** `tenant` is undefined on a button sent before servers were tenants. */
  | { kind: "alert"; action: AlertAction; tenant: Tenant | undefined; taskId: string }
  | { kind: "unknown" };

/** What a clicked button asks for; a page is clamped later, against the list as it is now. */
export function parseButton(customId: string): ParsedButton {
  if (customId.startsWith(LIST)) {
    return { kind: "list", page: Math.max(0, Number(customId.slice(LIST.length)) || 0) };
  }
  for (const action of Object.keys(ALERT) as AlertAction[]) {
    if (customId.startsWith(ALERT[action])) {
      const key = customId.slice(ALERT[action].length);
      const slash = key.indexOf("/");
      return slash < 0
        ? { kind: "alert", action, tenant: undefined, taskId: key }
        : { kind: "alert", action, tenant: key.slice(0, slash), taskId: key.slice(slash + 1) };
    }
  }
  return { kind: "unknown" };
}

/** The last page there is for `total` rows. */
export const lastPage = (total: number) => Math.max(0, Math.ceil(total / PAGE_SIZE) - 1);
