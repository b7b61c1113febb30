/**
 * The status page served at `GET /`: one self-contained HTML document with
 * inline CSS and inline JavaScript (no external assets, no build step). It
 * reads `v1/freerouter/status` relative to its own address, so it also works
 * behind a path prefix, and refreshes itself every few seconds. It shows the
 * account's state, the day's free-model quota (used and remaining, the reset
 * as a countdown, the projection at the last hour's rate, what OpenRouter's
 * `/key` said), each client key's usage, every pool model's state (rank and
 * quality score, ready or cooling down, the reason, the last error, the
 * success rate, the latency) and the recent requests (API, status, model,
 * attempts with continuations marked, latency; never any content).
 *
 * When an access key is configured, the status endpoint answers 401 and the
 * page asks for the key; it keeps it in `sessionStorage` and sends it as
 * `Authorization: Bearer <key>`.
 *
 * Every value taken from the status JSON is inserted as text
 * (`textContent` / text nodes), never as HTML. The styles are in
 * status_page_style.ts, the script in status_page_script.ts and
 * status_page_render.ts.
 *
 * Stable hooks for tests: `#account`, `#quota` (`#quota-used`,
 * `#quota-remaining`, `#quota-reset`, `#quota-projection`, `#quota-key`),
 * `#clients-table tbody tr[data-client]`, `#pool-table tbody tr[data-model]`
 * (with `data-state` = `ready` | `cooling_down`), `#recent-table tbody
 * tr[data-request-id]` (with `data-api`; attempts as
 * `li[data-attempt-model][data-outcome]`, continuations with
 * `data-continuation`), `#key-form`, `#key-input`, `#key-error`, `#updated`,
 * `#error`; cells carry `data-col`.
 *
 * @module
 */
import { STATUS_PAGE_RENDER } from "./status_page_render.ts";
import { STATUS_PAGE_HELPERS, STATUS_PAGE_LOOP } from "./status_page_script.ts";
import { STATUS_PAGE_STYLE } from "./status_page_style.ts";

const SCRIPT = `
"use strict";
(() => {${STATUS_PAGE_HELPERS}${STATUS_PAGE_RENDER}${STATUS_PAGE_LOOP}})();
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
<style>${STATUS_PAGE_STYLE}</style>
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
  <section id="quota" hidden>
    <h2>Free-model quota today</h2>
    <div id="quota-body"></div>
  </section>
  <section id="clients" hidden>
    <h2>Clients <span id="clients-count" class="count"></span></h2>
    <table id="clients-table">
      <thead><tr>
        <th>Client</th><th class="num">Today</th><th class="num">This minute</th>
        <th>Last request</th><th>Models</th>
      </tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section id="pool">
    <h2>Pool <span id="pool-count" class="count"></span></h2>
    <table id="pool-table">
      <thead><tr>
        <th class="num">Rank</th><th>Model</th><th class="num">Quality</th>
        <th>State</th><th>Reason</th><th>Last error</th>
        <th class="num">Success</th><th class="num">Latency</th>
        <th class="num">Attempts</th><th>Lacks</th>
      </tr></thead>
      <tbody></tbody>
    </table>
    <p id="pool-empty" class="muted" hidden>The pool is empty.</p>
  </section>
  <section id="aliases" hidden>
    <h2>Aliases <span id="aliases-count" class="count"></span></h2>
    <table id="aliases-table">
      <thead><tr><th>Alias</th><th>Picks</th><th>Models, in order</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section id="recent">
    <h2>Recent requests <span id="recent-count" class="count"></span></h2>
    <table id="recent-table">
      <thead><tr>
        <th>Time</th><th>API</th><th>Status</th><th>Model</th><th>Attempts</th>
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
