import { ITEM_KINDS, type Item } from "../../tasks/items.ts";
import type { EffectiveSettings } from "../../tasks/servers.ts";
import { dueWords } from "../../time/relative.ts";
import type { ServerRef } from "../access.ts";
import { type Html, html } from "../html.ts";
import { csrfField, type PageContext, page, postButton, serverPath } from "./layout.ts";

// The smaller pages: login, goals and reminders, the briefing archive, settings, errors.

export function loginPage(ctx: PageContext, discord: boolean, problem: string | null): string {
  const body = html`<div class="login card">
<h1>Mission Control</h1>
${problem ? html`<p class="flash error" role="alert">${problem}</p>` : ""}
${discord ? html`<p><a class="button primary" href="/login/discord">Log in with Discord</a></p>` : ""}
<p class="muted">${discord ? "Or use" : "Use"} the one-time login link that <code>npm start</code> printed (it works once, for 15 minutes). A new one: <code>npm run cli -- dashboard-link</code>.</p>
</div>`;
  return page(ctx, "Log in", body);
}

export function errorPage(ctx: PageContext, status: number, message: string): string {
  const title =
    status === 403 ? "Not allowed" : status === 404 ? "Not found" : "Something went wrong";
  return page(
    ctx,
    title,
    html`<h1>${title}</h1><p class="card">${message}</p><p><a href="/">Your servers</a></p>`,
  );
}

type ItemRow = Item & { due?: string | null };

function itemList(
  ctx: PageContext,
  kind: "goal" | "reminder",
  items: ItemRow[],
  today: string,
): Html {
  const k = ITEM_KINDS[kind];
  const base = `${serverPath(ctx.server as ServerRef)}/items/${kind}`;
  const rows = items.length
    ? html`<ul>${items.map(
        (i) =>
          html`<li><span class="item-text">${i.text}</span>${i.due ? html` <span class="muted">(${dueWords(i.due, today)})</span>` : ""} ${postButton(ctx, `${base}/${i.id}/done`, "Done")} ${postButton(ctx, `${base}/${i.id}/remove`, "Remove")}</li>`,
      )}</ul>`
    : html`<p class="muted">No ${k.open} ${k.plural}.</p>`;
  return html`<section class="card"><h2>${k.plural[0]?.toUpperCase()}${k.plural.slice(1)}</h2>${rows}
<form method="post" action="${base}">${csrfField(ctx)}
<label for="new-${kind}">New ${k.noun}</label><input id="new-${kind}" name="text" maxlength="500" placeholder="${k.example}">
${k.dated ? html`<label for="due-${kind}">Due (optional)</label><input id="due-${kind}" name="due" type="date">` : ""}
<p><button class="primary">Add ${k.noun}</button></p></form></section>`;
}

export function itemsPage(
  ctx: PageContext,
  goals: ItemRow[],
  reminders: ItemRow[],
  today: string,
): string {
  return page(
    ctx,
    "Goals & reminders",
    html`<h1>Goals &amp; reminders</h1><p class="muted">The daily briefing lists these every morning.</p>${itemList(ctx, "goal", goals, today)}${itemList(ctx, "reminder", reminders, today)}`,
    "items",
  );
}

export function briefingsPage(ctx: PageContext, dates: string[]): string {
  const base = `${serverPath(ctx.server as ServerRef)}/briefings`;
  const body = dates.length
    ? html`<h1>Briefings</h1><ul class="card">${dates.map((d) => html`<li><a href="${base}/${d}">${d}</a></li>`)}</ul>`
    : html`<h1>Briefings</h1><p class="card">No briefings saved yet: the daily-briefing task saves one each time it runs.</p>`;
  return page(ctx, "Briefings", body, "briefings");
}

export function briefingPage(ctx: PageContext, date: string, rendered: Html): string {
  const base = `${serverPath(ctx.server as ServerRef)}/briefings`;
  return page(
    ctx,
    `Briefing ${date}`,
    html`<p><a href="${base}">All briefings</a></p><article class="card markdown">${rendered}</article>`,
    "briefings",
  );
}

const SETTINGS: { key: keyof EffectiveSettings; label: string; help: string }[] = [
  {
    key: "timezone",
    label: "timezone",
    help: "the zone of tasks that name none, e.g. Europe/Paris",
  },
  {
    key: "briefingChannelId",
    label: "briefing_channel",
    help: "channel id where outputs go by default (empty: none)",
  },
  {
    key: "alertUserId",
    label: "alert_user",
    help: "user id who also gets failure alerts (empty: none)",
  },
  {
    key: "managerRoleId",
    label: "manager_role",
    help: "role id whose members may manage tasks besides Manage Server (empty: none)",
  },
];

export function settingsPage(
  ctx: PageContext,
  settings: Record<string, string>,
  problem: { field: string | null; message: string } | null,
): string {
  const base = serverPath(ctx.server as ServerRef);
  const rows = SETTINGS.map(({ label, help }) => {
    const bad = problem?.field === label ? html` aria-invalid="true"` : "";
    return html`<label for="s-${label}">${label}</label><input id="s-${label}" name="${label}" value="${settings[label] ?? ""}"${bad}><p class="help">${help}</p>`;
  });
  return page(
    ctx,
    "Settings",
    html`<h1>Settings</h1>${problem ? html`<p class="flash error" role="alert">${problem.message}</p>` : ""}<form method="post" action="${base}/settings" class="card">${csrfField(ctx)}${rows}<p><button class="primary">Save</button></p></form>`,
    "settings",
  );
}

export const SETTING_FIELDS = SETTINGS;
