import type { ServerRef } from "../access.ts";
import { type Html, html } from "../html.ts";
import type { Session } from "../sessions.ts";

// The frame of every page: header, the server's tabs, the one-time notice, the content.

export interface PageContext {
  session: Session | null;
  server?: ServerRef;
}

export type Tab = "tasks" | "items" | "briefings" | "settings";

const TABS: [Tab, string, string][] = [
  ["tasks", "Tasks", ""],
  ["items", "Goals & reminders", "/items"],
  ["briefings", "Briefings", "/briefings"],
  ["settings", "Settings", "/settings"],
];

export const serverPath = (server: ServerRef | string) =>
  `/s/${encodeURIComponent(typeof server === "string" ? server : server.id)}`;

/** The CSRF field every form carries. */
export const csrfField = (ctx: PageContext) =>
  html`<input type="hidden" name="_csrf" value="${ctx.session?.csrf ?? ""}">`;

/** A one-button form that POSTs to `action`. */
export function postButton(
  ctx: PageContext,
  action: string,
  label: string,
  kind: "primary" | "plain" | "danger" = "plain",
): Html {
  return html`<form method="post" action="${action}" class="inline">${csrfField(ctx)}<button class="${kind}">${label}</button></form>`;
}

export function page(ctx: PageContext, title: string, body: Html, tab?: Tab): string {
  const { session, server } = ctx;
  const flash = session?.flash;
  if (session) session.flash = null;
  const nav = server
    ? html`<nav class="tabs" aria-label="${server.name}">${TABS.map(
        ([id, label, path]) =>
          html`<a href="${serverPath(server)}${path}"${id === tab ? html` aria-current="page"` : ""}>${label}</a>`,
      )}</nav>`
    : "";
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Mission Control</title>
<link rel="stylesheet" href="/assets/app.css">
<script src="/assets/app.js" defer></script>
</head>
<body>
<header class="top">
  <a class="brand" href="/">Mission Control</a>
  ${server ? html`<span class="crumb">${server.name}</span>` : ""}
  ${
    session
      ? html`<span class="who">${session.viewer.name}</span>${postButton(ctx, "/logout", "Log out")}`
      : ""
  }
</header>
${nav}
<main>
${flash ? html`<p class="flash ${flash.kind}" role="status">${flash.text}</p>` : ""}
${body}
</main>
</body>
</html>`.text;
}
