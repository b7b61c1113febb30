/**
 * The status page's script, in two parts that share one scope: the helpers
 * (building elements from text only, times, durations) and the loop (reading
 * the status, asking for the access key, refreshing, ticking the
 * countdowns). The renderers sit in status_page_render.ts.
 *
 * @module
 */

/** Helpers the renderers use. */
export const STATUS_PAGE_HELPERS: string = `
  const $ = (id) => document.getElementById(id);

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
  /** The viewer's time zone as clocks show it ("CET", "GMT+2", "UTC"). */
  const ZONE = (() => {
    try {
      const parts = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" }).formatToParts(new Date());
      return (parts.find((p) => p.type === "timeZoneName") || {}).value || "";
    } catch {
      return "";
    }
  })();
  /** A time of day in the viewer's zone, named (the date too when it is not near). */
  function clock(value) {
    if (!value) return "";
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) return String(value);
    const hms = pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + (ZONE ? " " + ZONE : "");
    if (Math.abs(d.getTime() - Date.now()) < 20 * 3600 * 1000) return hms;
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + hms;
  }
  /** "3 h 12 min", "4 min 05 s", "42 s". */
  function duration(seconds) {
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return s + " s";
    const m = Math.floor(s / 60);
    if (m < 60) return m + " min " + pad(s % 60) + " s";
    return Math.floor(m / 60) + " h " + pad(m % 60) + " min";
  }
  const dash = (v) => (v === null || v === undefined || v === "" ? "—" : v);
  const ofLimit = (n, limit) => (limit === null || limit === undefined ? String(n) : n + " / " + limit);

  function badge(kind, text) {
    return el("span", { class: "badge " + kind }, text);
  }

  function fact(id, label, ...value) {
    return el("div", { id }, el("dt", {}, label), el("dd", {}, ...value));
  }

  /** Elements counting down to an instant, ticked every second: [element, seconds at anchor]. */
  let countdowns = [];
  let anchor = 0;
  function countdown(seconds, text) {
    const node = el("span", { class: "countdown" }, text(seconds));
    countdowns.push({ node, seconds, text });
    return node;
  }
  function tick() {
    const elapsed = (performance.now() - anchor) / 1000;
    for (const c of countdowns) c.node.textContent = c.text(c.seconds - elapsed);
  }
`;

/** Reading the status, the access key, refreshing. */
export const STATUS_PAGE_LOOP: string = `
  const REFRESH_MS = 3000;
  const KEY_STORAGE = "freerouter.accessKey";

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
      countdowns = [];
      anchor = performance.now();
      renderAccount(s);
      renderQuota(s);
      renderClients(s);
      renderPool(s);
      renderAliases(s);
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
  setInterval(tick, 1000);

  refresh();
`;
