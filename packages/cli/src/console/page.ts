/**
 * The console's HTML and CSS, kept in code so they are compiled into dist/ with everything else
 * and an installed CLI cannot miss them. The HTML has no inline script or style: the Content
 * Security Policy (server.ts) allows only this server's own files.
 */

/** The one page; web/main.js fills <main> from the URL's hash (#/apps, #/policy, …). */
export const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Attestor console</title>
<link rel="stylesheet" href="/assets/uplot.css">
<link rel="stylesheet" href="/assets/console.css">
<script src="/assets/uplot.js"></script>
<script type="module" src="/assets/main.js"></script>
</head>
<body>
<header>
  <span class="brand">Attestor console</span>
  <nav id="nav"></nav>
  <label class="app-picker">App <select id="app-select"></select></label>
  <span id="endpoint" class="muted"></span>
</header>
<main id="view"><p class="muted">Loading…</p></main>
</body>
</html>
`;

/**
 * The answer to the token link: it sets the cookie (in its headers) and then moves on to the page
 * by itself. A redirect would not do: when the link is opened from elsewhere (the terminal, the
 * file the CLI opens), a browser withholds a SameSite=Strict cookie from the redirect that follows,
 * but not from a navigation the console's own page starts.
 */
export const LOGIN_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=/"><title>Attestor console</title></head>
<body><p>Opening the console…</p></body></html>
`;

export const FORBIDDEN_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Attestor console</title></head>
<body><p>Forbidden: open the link that <code>attestor console</code> printed in its terminal.</p></body></html>
`;

export const CONSOLE_CSS = `
:root { --fg: #1d2330; --muted: #667085; --line: #d8dce3; --bg: #f7f8fa; --accent: #2456c7; --ok: #1a7f37; --bad: #c0362c; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; gap: 18px; padding: 10px 20px; background: #fff; border-bottom: 1px solid var(--line); flex-wrap: wrap; }
.brand { font-weight: 700; }
nav a { margin-right: 14px; color: var(--fg); text-decoration: none; padding: 4px 0; }
nav a.current { color: var(--accent); border-bottom: 2px solid var(--accent); }
.app-picker select { margin-left: 6px; }
main { padding: 18px 20px; max-width: 1200px; }
h1 { font-size: 20px; margin: 0 0 12px; }
h2 { font-size: 16px; margin: 22px 0 8px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 14px 16px; margin-bottom: 16px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: "DejaVu Sans Mono", ui-monospace, monospace; font-size: 12.5px; }
.muted { color: var(--muted); }
.note { color: var(--muted); font-size: 13px; margin: 6px 0; }
.ok { color: var(--ok); }
.error { color: var(--bad); }
form.inline { display: flex; gap: 10px; align-items: end; flex-wrap: wrap; }
label { display: inline-flex; flex-direction: column; gap: 3px; font-size: 13px; }
label.check { flex-direction: row; align-items: center; gap: 6px; }
fieldset { border: 1px solid var(--line); border-radius: 6px; margin: 0 0 12px; padding: 10px 12px; }
fieldset { display: flex; gap: 14px; flex-wrap: wrap; align-items: end; }
legend { font-weight: 600; padding: 0 4px; }
input, select, textarea { font: inherit; padding: 4px 6px; border: 1px solid #b9c0cc; border-radius: 4px; background: #fff; }
textarea { min-width: 520px; min-height: 60px; font-family: "DejaVu Sans Mono", ui-monospace, monospace; font-size: 12px; }
button { font: inherit; padding: 5px 12px; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: var(--accent); }
button.danger { background: #fff; color: var(--bad); border-color: var(--bad); }
button:disabled { opacity: .5; cursor: default; }
progress { width: 320px; height: 14px; }
.secret { background: #fff7e0; border: 1px solid #e8c55a; border-radius: 6px; padding: 10px 12px; margin: 10px 0; }
.secret code { font-size: 14px; user-select: all; }
.status-pending { color: #9a6700; } .status-active { color: var(--ok); font-weight: 600; } .status-retiring { color: #8250df; }
.status-retired, .status-deleted { color: var(--muted); }
.chart { width: 100%; min-height: 260px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; vertical-align: baseline; }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
@media (max-width: 900px) { .grid2 { grid-template-columns: 1fr; } }
`;
