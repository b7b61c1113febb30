/**
 * The status page's styles: light and dark, no external assets.
 *
 * @module
 */

/** The page's CSS. */
export const STATUS_PAGE_STYLE: string = `
:root {
  color-scheme: light dark;
  --bg: #f7f7f8; --fg: #1d1d1f; --muted: #6b6b73; --card: #ffffff;
  --line: #e2e2e6; --accent: #2f6feb;
  --ok-bg: #dcf5e3; --ok-fg: #11652f;
  --warn-bg: #fff0cc; --warn-fg: #7a4b00;
  --bad-bg: #fde1e1; --bad-fg: #9b1c1c;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #111214; --fg: #e8e8ea; --muted: #9a9aa3; --card: #1a1b1e;
    --line: #2c2d31; --accent: #6ea1ff;
    --ok-bg: #12351f; --ok-fg: #7ee2a0;
    --warn-bg: #3a2c0a; --warn-fg: #ffd27a;
    --bad-bg: #3d1618; --bad-fg: #ff9d9d;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--fg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
header {
  display: flex; flex-wrap: wrap; align-items: baseline; gap: .25rem 1rem;
  padding: .9rem 1.25rem; border-bottom: 1px solid var(--line);
  background: var(--card);
}
header h1 { margin: 0; font-size: 1.2rem; }
header .sub { color: var(--muted); }
#updated { margin-left: auto; color: var(--muted); font-variant-numeric: tabular-nums; }
main { padding: 1rem 1.25rem 2rem; max-width: 1400px; }
section {
  background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: .75rem 1rem 1rem; margin-bottom: 1rem; overflow-x: auto;
}
h2 { font-size: 1rem; margin: 0 0 .6rem; }
h2 .count { color: var(--muted); font-weight: normal; }
dl.facts {
  display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr));
  gap: .5rem 1.5rem; margin: 0;
}
dl.facts div { min-width: 0; }
dl.facts #account-state { grid-column: span 2; }
dl.facts dt { color: var(--muted); font-size: .8rem; }
dl.facts dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; }
th, td {
  text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line);
  vertical-align: top;
}
th { color: var(--muted); font-weight: 600; font-size: .8rem; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.time { font-variant-numeric: tabular-nums; white-space: nowrap; }
td.model { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .85rem; overflow-wrap: anywhere; }
td.err { max-width: 28rem; overflow-wrap: anywhere; }
tr.cooling_down td { background: color-mix(in srgb, var(--warn-bg) 35%, transparent); }
.badge {
  display: inline-block; padding: .05rem .5rem; border-radius: 999px;
  font-size: .8rem; font-weight: 600; white-space: nowrap;
}
.badge.ok { background: var(--ok-bg); color: var(--ok-fg); }
.badge.warn { background: var(--warn-bg); color: var(--warn-fg); }
.badge.bad { background: var(--bad-bg); color: var(--bad-fg); }
.muted { color: var(--muted); }
ol.attempts { margin: 0; padding: 0; list-style: none; }
ol.attempts li { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .8rem; white-space: nowrap; }
ol.attempts li.ok .outcome { color: var(--ok-fg); }
ol.attempts li.fail .outcome { color: var(--bad-fg); }
.banner {
  margin: 1rem 1.25rem 0; padding: .6rem .9rem; border-radius: 8px;
  background: var(--bad-bg); color: var(--bad-fg);
}
form#key-form {
  margin: 2rem auto; max-width: 26rem; background: var(--card);
  border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.25rem;
}
form#key-form label { display: block; margin-bottom: .4rem; }
form#key-form .row { display: flex; gap: .5rem; }
input, button { font: inherit; }
input[type=password] {
  flex: 1; padding: .4rem .6rem; border: 1px solid var(--line);
  border-radius: 6px; background: var(--bg); color: var(--fg);
}
button {
  padding: .4rem .9rem; border-radius: 6px; border: 1px solid var(--accent);
  background: var(--accent); color: #fff; cursor: pointer;
}
button.link { background: none; border: none; color: var(--accent); padding: 0; }
#key-error { color: var(--bad-fg); margin: .5rem 0 0; }
[hidden] { display: none !important; }
.bar { height: .45rem; border-radius: 999px; background: var(--line); overflow: hidden; margin-top: .3rem; }
.bar > span { display: block; height: 100%; background: var(--accent); }
.bar.warn > span { background: var(--warn-fg); }
.bar.bad > span { background: var(--bad-fg); }
td.api { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .8rem; }
ol.attempts li.continuation { font-style: italic; }
`;
