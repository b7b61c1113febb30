/**
 * The status page served at `GET /`: one self-contained HTML document with
 * inline CSS and inline JavaScript (no external assets, no build step). It
 * reads `v1/freerouter/status` relative to its own address, so it also works
 * behind a path prefix, and refreshes itself every few seconds. It shows the
 * account's quota state, every pool model's state (ready or cooling down, the
 * reason, the last error, the success rate, the latency) and the recent
 * requests (status, model, attempts, latency; never any content).
 *
 * When an access key is configured, the status endpoint answers 401 and the
 * page asks for the key; it keeps it in `sessionStorage` and sends it as
 * `Authorization: Bearer <key>`.
 *
 * Every value taken from the status JSON is inserted as text
 * (`textContent` / text nodes), never as HTML.
 *
 * Stable hooks for tests: `#account`, `#pool-table tbody tr[data-model]`
 * (with `data-state` = `ready` | `cooling_down`), `#recent-table tbody
 * tr[data-request-id]` (attempts as `li[data-attempt-model][data-outcome]`),
 * `#key-form`, `#key-input`, `#key-error`, `#updated`, `#error`.
 *
 * @module
 */

const STYLE = `
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
`;

const SCRIPT = `
"use strict";
(() => {
  const REFRESH_MS = 3000;
  const KEY_STORAGE = "freerouter.accessKey";
  const $ = (id) => document.getElementById(id);

  // The status endpoint, relative to this page (which the proxy serves at
  // its root, so behind a prefix it is "<prefix>/").
  const base = new URL(location.href);
  base.search = "";
  base.hash = "";
  if (!base.pathname.endsWith("/")) base.pathname += "/";
  const STATUS_URL = new URL("v1/freerouter/status", base);

  let timer = 0;
  let inFlight = false;
  let memoryKey = storedKey();

  function storedKey() {
    try { return sessionStorage.getItem(KEY_STORAGE) || ""; } catch { return ""; }
  }
  function storeKey(key) {
    try {
      if (key) sessionStorage.setItem(KEY_STORAGE, key);
      else sessionStorage.removeItem(KEY_STORAGE);
    } catch { /* storage unavailable: the key lives only in memory */ }
    memoryKey = key;
  }

  /** Builds an element; strings become text nodes, never markup. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = String(value);
      else node.setAttribute(name, String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const pad = (n) => String(n).padStart(2, "0");
  function clock(value) {
    if (!value) return "";
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) return String(value);
    const hms = pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
    if (Math.abs(d.getTime() - Date.now()) < 20 * 3600 * 1000) return hms;
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + hms;
  }
  const dash = (v) => (v === null || v === undefined || v === "" ? "—" : v);
  const ofLimit = (n, limit) => (limit === null || limit === undefined ? String(n) : n + " / " + limit);

  function badge(kind, text) {
    return el("span", { class: "badge " + kind }, text);
  }

  function fact(id, label, ...value) {
    return el("div", { id }, el("dt", {}, label), el("dd", {}, ...value));
  }

  function renderAccount(s) {
    const a = s.account || {};
    const state = a.blocked
      ? badge("bad", "blocked until " + clock(a.blocked_until))
      : badge("ok", "ok");
    const facts = el("dl", { class: "facts" },
      fact("account-state", "Account", state,
        a.blocked && (a.block_scope || a.block_reason)
          ? el("div", { class: "muted" }, [a.block_scope, a.block_reason].filter(Boolean).join(": "))
          : null),
      fact("account-minute", "Requests this minute", ofLimit(a.requests_this_minute ?? 0, a.rpm_limit)),
      fact("account-day", "Requests today", ofLimit(a.requests_today ?? 0, a.daily_limit)),
      fact("limiter-waiting", "Waiting in the limiter", String((s.limiter && s.limiter.waiting) ?? 0)),
      fact("strategy", "Strategy", dash(s.strategy)),
      fact("catalog", "Catalog",
        (s.catalog ? s.catalog.size : 0) + " models",
        s.catalog && s.catalog.fetched_at
          ? el("span", { class: "muted" }, " · fetched " + clock(s.catalog.fetched_at))
          : null),
    );
    $("account-body").replaceChildren(facts);
  }

  function renderPool(s) {
    const pool = Array.isArray(s.pool) ? s.pool : [];
    const cooling = pool.filter((m) => m.state === "cooling_down").length;
    $("pool-count").textContent = pool.length + " models" + (cooling ? ", " + cooling + " cooling down" : "");
    const rows = pool.map((m) => {
      const isCooling = m.state === "cooling_down";
      const stateCell = isCooling
        ? badge("warn", "cooling down until " + clock(m.cooldown_until))
        : badge("ok", "ready");
      const reason = isCooling
        ? [m.cooldown_kind, m.cooldown_reason].filter(Boolean).join(": ")
        : "";
      const rate = m.success_rate === null || m.success_rate === undefined
        ? "—"
        : Math.round(m.success_rate * 1000) / 10 + " %";
      const latency = m.latency_ms === null || m.latency_ms === undefined ? "—" : m.latency_ms + " ms";
      const lacks = Array.isArray(m.lacks) && m.lacks.length ? m.lacks.join(", ") : "—";
      return el("tr", { "data-model": m.id, "data-state": m.state, class: m.state },
        el("td", { class: "model", "data-col": "model" }, m.id),
        el("td", { "data-col": "state" }, stateCell),
        el("td", { class: "err", "data-col": "reason" }, dash(reason)),
        el("td", { class: "err", "data-col": "last-error" }, dash(m.last_error)),
        el("td", { class: "num", "data-col": "success-rate" }, rate),
        el("td", { class: "num", "data-col": "latency" }, latency),
        el("td", { class: "num", "data-col": "attempts" }, String(m.attempts ?? 0)),
        el("td", { "data-col": "lacks" }, lacks),
      );
    });
    $("pool-table").tBodies[0].replaceChildren(...rows);
    $("pool-empty").hidden = pool.length > 0;
  }

  function renderRecent(s) {
    const recent = Array.isArray(s.recent) ? s.recent : [];
    $("recent-count").textContent = recent.length ? String(recent.length) : "";
    const rows = recent.map((r) => {
      const kind = r.status < 400 ? "ok" : r.status === 429 ? "warn" : "bad";
      const attempts = Array.isArray(r.attempts) ? r.attempts : [];
      const list = el("ol", { class: "attempts" }, ...attempts.map((a) =>
        el("li", {
            class: a.outcome === "ok" ? "ok" : "fail",
            "data-attempt-model": a.model,
            "data-outcome": a.outcome,
          },
          a.model + " \\u2192 ",
          el("span", { class: "outcome" }, a.outcome),
          typeof a.ms === "number" ? el("span", { class: "muted" }, " (" + Math.round(a.ms) + " ms)") : null,
        )
      ));
      return el("tr", { "data-request-id": r.id, "data-status": r.status },
        el("td", { class: "time", "data-col": "time" }, clock(r.at)),
        el("td", { "data-col": "status" }, badge(kind, String(r.status)),
          r.error ? el("div", { class: "muted" }, r.error) : null),
        el("td", { class: "model", "data-col": "model" }, dash(r.model)),
        el("td", { "data-col": "attempts" }, attempts.length ? list : "—"),
        el("td", { class: "num", "data-col": "latency" }, Math.round(r.latency_ms ?? 0) + " ms"),
        el("td", { "data-col": "stream" }, r.stream ? "yes" : "no"),
      );
    });
    $("recent-table").tBodies[0].replaceChildren(...rows);
    $("recent-empty").hidden = recent.length > 0;
  }

  function showKeyForm(message) {
    $("content").hidden = true;
    $("key-form").hidden = false;
    $("key-error").textContent = message || "";
    $("key-error").hidden = !message;
    $("forget-key").hidden = true;
    $("updated").textContent = "access key needed";
    $("key-input").focus();
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, REFRESH_MS);
  }

  async function refresh() {
    if (inFlight) return;
    inFlight = true;
    try {
      const headers = { accept: "application/json" };
      if (memoryKey) headers.authorization = "Bearer " + memoryKey;
      let res;
      try {
        res = await fetch(STATUS_URL, { headers, cache: "no-store" });
      } catch (err) {
        showError("Cannot reach freerouter: " + (err && err.message ? err.message : err));
        schedule();
        return;
      }
      if (res.status === 401) {
        const hadKey = Boolean(memoryKey);
        storeKey("");
        showKeyForm(hadKey ? "That key was not accepted." : "");
        return; // polling resumes once a key is entered
      }
      if (!res.ok) {
        let message = "HTTP " + res.status;
        try {
          const body = await res.json();
          if (body && body.error && body.error.message) message += ": " + body.error.message;
        } catch { /* not JSON */ }
        showError("Status request failed: " + message);
        schedule();
        return;
      }
      const s = await res.json();
      $("key-form").hidden = true;
      $("content").hidden = false;
      $("forget-key").hidden = !memoryKey;
      $("error").hidden = true;
      renderAccount(s);
      renderPool(s);
      renderRecent(s);
      $("updated").textContent = "updated " + clock(new Date().toISOString());
      document.body.dataset.loaded = "true";
      schedule();
    } catch (err) {
      showError("Cannot show the status: " + (err && err.message ? err.message : err));
      schedule();
    } finally {
      inFlight = false;
    }
  }

  function showError(message) {
    $("error").textContent = message;
    $("error").hidden = false;
  }

  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("key-input").value.trim();
    if (!key) return;
    storeKey(key);
    $("key-input").value = "";
    refresh();
  });
  $("forget-key").addEventListener("click", () => {
    storeKey("");
    clearTimeout(timer);
    refresh();
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && $("key-form").hidden) refresh();
  });

  refresh();
})();
`;

/** The page. */
export const STATUS_PAGE_HTML: string = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>freerouter status</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>freerouter</h1>
  <span class="sub">free-model router status</span>
  <button type="button" id="forget-key" class="link" hidden>forget access key</button>
  <span id="updated" aria-live="polite">loading…</span>
</header>
<div id="error" class="banner" role="alert" hidden></div>
<form id="key-form" hidden>
  <label for="key-input">This proxy needs its access key to show its status.</label>
  <div class="row">
    <input id="key-input" name="key" type="password" autocomplete="current-password" placeholder="access key" required>
    <button type="submit" id="key-submit">Show status</button>
  </div>
  <p id="key-error" hidden></p>
</form>
<main id="content" hidden>
  <section id="account">
    <h2>Account and quota</h2>
    <div id="account-body"></div>
  </section>
  <section id="pool">
    <h2>Pool <span id="pool-count" class="count"></span></h2>
    <table id="pool-table">
      <thead><tr>
        <th>Model</th><th>State</th><th>Reason</th><th>Last error</th>
        <th class="num">Success</th><th class="num">Latency</th>
        <th class="num">Attempts</th><th>Lacks</th>
      </tr></thead>
      <tbody></tbody>
    </table>
    <p id="pool-empty" class="muted" hidden>The pool is empty.</p>
  </section>
  <section id="recent">
    <h2>Recent requests <span id="recent-count" class="count"></span></h2>
    <table id="recent-table">
      <thead><tr>
        <th>Time</th><th>Status</th><th>Model</th><th>Attempts</th>
        <th class="num">Latency</th><th>Stream</th>
      </tr></thead>
      <tbody></tbody>
    </table>
    <p id="recent-empty" class="muted">No requests yet.</p>
  </section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
