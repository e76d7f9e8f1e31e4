// The dashboard's only style sheet and script, served from /assets/ (the Content-Security-Policy
// allows no inline script or style). Kept here as text so the build needs no copy step.

export const CSS = `
:root { --fg: #1d1f24; --muted: #5f6673; --line: #dde1e8; --bg: #f6f7f9; --card: #fff;
  --accent: #4752c4; --ok: #1f8a4c; --bad: #c0392b; --warn: #b7791f; color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
header.top { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1rem; padding: .6rem 1rem; background: #23272f; color: #fff; }
header.top a.brand { color: #fff; font-weight: 700; text-decoration: none; }
header.top .crumb { color: #c9ced8; }
header.top .who { margin-left: auto; color: #c9ced8; }
header.top button { background: transparent; color: #fff; border-color: #6b7280; }
nav.tabs { display: flex; gap: .25rem; overflow-x: auto; padding: 0 1rem; background: var(--card); border-bottom: 1px solid var(--line); }
nav.tabs a { padding: .6rem .75rem; text-decoration: none; color: var(--muted); white-space: nowrap; border-bottom: 2px solid transparent; }
nav.tabs a[aria-current] { color: var(--fg); border-color: var(--accent); }
main { max-width: 68rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.4rem; margin: .25rem 0 .75rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1rem; margin: 0 0 1rem; }
.muted { color: var(--muted); }
.flash { padding: .6rem .8rem; border-radius: 6px; background: #e8f5ee; border: 1px solid #b6dfc6; }
.flash.error { background: #fdecea; border-color: #f5c2bd; }
table { width: 100%; border-collapse: collapse; background: var(--card); }
th, td { text-align: left; padding: .45rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); }
.status-success { color: var(--ok); } .status-failure, .status-timeout { color: var(--bad); } .status-skipped { color: var(--muted); }
.badge { display: inline-block; padding: 0 .4rem; border-radius: 4px; font-size: .8rem; background: var(--line); }
.badge.off { background: #fde8c8; } .badge.failing { background: #f9d0cb; }
.dst { color: var(--warn); }
button, .button { font: inherit; padding: .4rem .8rem; border-radius: 6px; border: 1px solid var(--line); background: var(--card); color: var(--fg); cursor: pointer; text-decoration: none; display: inline-block; }
button.primary, .button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.danger { background: var(--bad); border-color: var(--bad); color: #fff; }
form.inline { display: inline; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; margin: .5rem 0 1rem; }
label { display: block; font-weight: 600; margin: .75rem 0 .2rem; }
input[type=text], input:not([type]), select, textarea { width: 100%; font: inherit; padding: .4rem .5rem; border: 1px solid var(--line); border-radius: 6px; }
[aria-invalid=true] { border-color: var(--bad); outline: 1px solid var(--bad); }
.help { font-size: .85rem; color: var(--muted); margin: .15rem 0 0; }
pre { white-space: pre-wrap; word-break: break-word; background: #f0f1f4; padding: .75rem; border-radius: 6px; }
.markdown { overflow-wrap: anywhere; }
svg.chart .ok { fill: var(--ok); } svg.chart .bad { fill: var(--bad); } svg.chart .skip { fill: #b0b6c1; } svg.chart .late { fill: var(--warn); }
figure.chart-box { margin: 0; } figure.chart-box svg { width: 100%; height: auto; max-height: 10rem; }
figcaption { font-size: .85rem; color: var(--muted); }
nav.pager { display: flex; flex-wrap: wrap; gap: .25rem; margin: .75rem 0; }
nav.pager a, nav.pager span { padding: .2rem .55rem; border: 1px solid var(--line); border-radius: 4px; text-decoration: none; }
nav.pager span[aria-current] { background: var(--accent); color: #fff; border-color: var(--accent); }
.login { max-width: 26rem; margin: 3rem auto; text-align: center; }
@media (max-width: 640px) {
  table.tasks thead { display: none; }
  table.tasks tr { display: block; border-bottom: 1px solid var(--line); padding: .4rem 0; }
  table.tasks td { display: block; border: 0; padding: .15rem .5rem; }
  table.tasks td[data-label]::before { content: attr(data-label) ": "; color: var(--muted); font-size: .85rem; }
  header.top .who { margin-left: 0; }
}
`;

// Progressive: pages work without it. It shows times in the viewer's zone and asks before a
// form marked data-confirm is sent.
export const JS = `
document.querySelectorAll("time[data-local]").forEach((t) => {
  const d = new Date(t.getAttribute("datetime"));
  if (!isNaN(d)) t.title = d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) + " (your time)";
});
document.querySelectorAll("form[data-confirm]").forEach((f) => {
  f.addEventListener("submit", (e) => { if (!confirm(f.dataset.confirm)) e.preventDefault(); });
});
document.querySelectorAll("form").forEach((f) => {
  f.addEventListener("submit", (e) => { if (!e.defaultPrevented) f.querySelectorAll("button").forEach((b) => { b.disabled = true; }); });
});
`;
