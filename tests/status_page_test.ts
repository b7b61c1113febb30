/**
 * The status page at `GET /`: a self-contained document (plain tests), and
 * the page itself running in a real headless Chromium (Debian's `chromium`
 * driven by `playwright-core`) against the proxy served on a real port with
 * the fake OpenRouter upstream.
 *
 * The browser tests never download a browser: they run `/usr/bin/chromium`
 * and are skipped only when it is absent outside CI (on CI they must run).
 * They save screenshots under `tests/screenshots/` (gitignored).
 */
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import type { BrowserContext, Page } from "playwright-core";
import { STATUS_PAGE_HTML } from "../src/ops/status_page.ts";
import { hello, manualClock, rig, type RigOptions } from "./_harness.ts";
import {
  catalogRow,
  dailyCap,
  errorStatus,
  modelRpm,
} from "./fake_openrouter/mod.ts";
import { serveOnLoopback } from "./_streams.ts";
import { benchmarkCatalog, BIG, NANO } from "./_benchmark_catalog.ts";

const CHROMIUM = "/usr/bin/chromium";
const A = "alpha/one:free";
const B = "beta/two:free";
/** A model id that would run script if the page inserted it as HTML. */
const EVIL = 'evil/<img src=x onerror="window.__pwned=1">:free';
const SCREENSHOTS = new URL("./screenshots/", import.meta.url);

function hasChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

/** Browser tests run wherever Chromium is, and always on CI. */
const skipBrowser = !hasChromium() && Deno.env.get("CI") !== "true";

const catalog = () => [
  catalogRow({ id: A, context_length: 300_000 }),
  catalogRow({ id: B, context_length: 200_000 }),
  catalogRow({ id: EVIL, context_length: 100_000 }),
];

/**
 * A proxy on a real port in front of the fake OpenRouter. Its clock is a
 * manual one started at the real time, so the times the page shows (cooldown
 * ends, request times) read naturally and cooldowns never run out mid-test.
 * With `prefix` (e.g. `/fr`) it is mounted under that path the way a reverse
 * proxy would: the prefix is stripped and everything else is a 404.
 */
function serve(options: RigOptions & { prefix?: string } = {}) {
  const { prefix, ...rigOptions } = options;
  const r = rig({
    fakeOptions: { models: catalog() },
    clock: manualClock(Date.now()),
    ...rigOptions,
  });
  const mounted = (req: Request): Promise<Response> | Response => {
    if (!prefix) return r.handler(req);
    const url = new URL(req.url);
    if (url.pathname !== prefix && !url.pathname.startsWith(`${prefix}/`)) {
      return new Response("not under the prefix", { status: 404 });
    }
    url.pathname = url.pathname.slice(prefix.length) || "/";
    return r.handler(new Request(url, req));
  };
  const served = serveOnLoopback(mounted);
  return {
    r,
    origin: served.url,
    async [Symbol.asyncDispose]() {
      await served[Symbol.asyncDispose]();
      await r[Symbol.asyncDispose]();
    },
  };
}

/**
 * Starts Debian's Chromium with a fresh profile directory. Playwright takes
 * the profile as `userDataDir` of a persistent context (it refuses a
 * `--user-data-dir` argument).
 */
async function launch(
  viewport: { width: number; height: number },
): Promise<{ context: BrowserContext; page: Page; profile: string }> {
  const profile = await Deno.makeTempDir({ prefix: "freerouter-chromium-" });
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
      ],
    });
    const page = context.pages()[0] ?? await context.newPage();
    return { context, page, profile };
  } catch (err) {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
    throw err;
  }
}

/** Records every URL the page requests. */
function recordRequests(page: Page): string[] {
  const urls: string[] = [];
  page.on("request", (req) => void urls.push(req.url()));
  return urls;
}

function assertOnlyLocal(urls: readonly string[]): void {
  assert.ok(urls.length > 0, "the page made requests");
  for (const url of urls) {
    const u = new URL(url);
    if (u.protocol === "data:") continue;
    assert.equal(u.hostname, "127.0.0.1", `request to another host: ${url}`);
  }
}

async function screenshot(page: Page, name: string): Promise<string> {
  await Deno.mkdir(SCREENSHOTS, { recursive: true });
  const path = new URL(name, SCREENSHOTS).pathname;
  await page.screenshot({ path, fullPage: true });
  return path;
}

async function cleanup(
  context: BrowserContext | undefined,
  profile: string | undefined,
): Promise<void> {
  await context?.close();
  if (profile) await Deno.remove(profile, { recursive: true }).catch(() => {});
}

Deno.test("GET / serves the status page as HTML with no external assets", async () => {
  await using r = rig();
  const res = await r.request("/");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
  const html = await res.text();
  assert.equal(html, STATUS_PAGE_HTML);
  assert.match(html, /^<!doctype html>/i);
  assert.doesNotMatch(html, /https?:\/\//i, "no absolute URL at all");
  assert.doesNotMatch(html, /\/\/[a-z0-9.-]+\.[a-z]{2,}\//i, "no //host/ URL");
  assert.doesNotMatch(html, /<script[^>]*\ssrc=/i, "no external script");
  assert.doesNotMatch(html, /<link[^>]*rel="stylesheet"/i, "no stylesheet");
  const css = html.slice(html.indexOf("<style>"), html.indexOf("</style>"));
  assert.doesNotMatch(css, /@import|url\(/i, "no CSS import or url()");
  assert.match(html, /<style>/);
  assert.match(html, /<script>/);
});

Deno.test("GET / stays open when an access key is configured, and the page reads the status relative to itself", async () => {
  await using r = rig({ accessKey: "let-me-in" });
  const page = await r.request("/");
  assert.equal(page.status, 200);
  assert.equal(await page.text(), STATUS_PAGE_HTML);
  const status = await r.request("/v1/freerouter/status");
  assert.equal(status.status, 401);
  await status.body?.cancel();
  // Relative to the page (so a path prefix keeps working), never absolute.
  assert.match(STATUS_PAGE_HTML, /new URL\("v1\/freerouter\/status", base\)/);
  assert.doesNotMatch(STATUS_PAGE_HTML, /["'`]\/v1\/freerouter\/status/);
});

Deno.test("GET / inserts data as text only: the page's script never uses innerHTML, outerHTML, insertAdjacentHTML or document.write", () => {
  const script = STATUS_PAGE_HTML.slice(STATUS_PAGE_HTML.indexOf("<script>"));
  assert.doesNotMatch(
    script,
    /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/,
  );
  assert.match(script, /createTextNode|textContent/);
});

Deno.test({
  name:
    "status page (Chromium): shows the model cooled down by a fallback, the recent request with both attempts, and only talks to the proxy",
  ignore: skipBrowser,
  async fn() {
    await using s = serve();
    const { r, origin } = s;
    r.fake.script(A, modelRpm(A, { resetMs: r.clock.now() + 60_000 }));
    const chat = await fetch(`${origin}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(hello()),
    });
    assert.equal(chat.status, 200);
    assert.equal(chat.headers.get("x-freerouter-model"), B, "it fell back");
    assert.equal(chat.headers.get("x-freerouter-attempts"), "2");
    await chat.body?.cancel();

    let context: BrowserContext | undefined;
    let profile: string | undefined;
    try {
      let page: Page;
      ({ context, page, profile } = await launch({ width: 1280, height: 900 }));
      const urls = recordRequests(page);
      const errors: string[] = [];
      page.on("pageerror", (err) => void errors.push(String(err)));
      await page.goto(`${origin}/`);

      const rowA = page.locator(`tr[data-model="${A}"]`);
      await page.locator(`tr[data-model="${A}"][data-state="cooling_down"]`)
        .waitFor();
      const stateA = await rowA.locator('[data-col="state"]').innerText();
      assert.match(stateA, /^cooling down until \d\d:\d\d:\d\d \S+$/);
      const reasonA = await rowA.locator('[data-col="reason"]').innerText();
      assert.match(reasonA, /429/, `reason shown: ${reasonA}`);
      assert.equal(
        await rowA.locator('[data-col="last-error"]').innerText(),
        "429",
      );
      assert.equal(
        await rowA.locator('[data-col="success-rate"]').innerText(),
        "0 %",
      );

      const rowB = page.locator(`tr[data-model="${B}"]`);
      assert.equal(await rowB.getAttribute("data-state"), "ready");
      assert.equal(
        await rowB.locator('[data-col="state"]').innerText(),
        "ready",
      );
      assert.equal(
        await rowB.locator('[data-col="success-rate"]').innerText(),
        "100 %",
      );
      assert.match(
        await rowB.locator('[data-col="latency"]').innerText(),
        /^\d+ ms$/,
      );

      // The recent request, with both attempts and no content.
      const request = page.locator("#recent-table tbody tr[data-request-id]");
      assert.equal(await request.count(), 1);
      assert.equal(await request.getAttribute("data-status"), "200");
      assert.equal(
        await request.locator('[data-col="model"]').innerText(),
        B,
      );
      const attempts = request.locator("li[data-attempt-model]");
      assert.deepEqual(
        await attempts.evaluateAll((lis) =>
          lis.map((li) => [li.dataset.attemptModel, li.dataset.outcome])
        ),
        [[A, "429"], [B, "ok"]],
      );
      assert.match(await attempts.nth(0).innerText(), /→ 429/);
      assert.doesNotMatch(await page.content(), /Hello/, "no message content");

      // The account section shows this minute's attempts against the limit.
      assert.equal(
        await page.locator("#account-minute dd").innerText(),
        "2 / 20",
      );
      assert.match(
        await page.locator("#updated").innerText(),
        /^updated \d\d:\d\d:\d\d \S+$/,
      );

      // A model id made of markup is shown as text and runs nothing.
      const evilCell = page.locator("#pool-table td.model").nth(2);
      assert.equal(await evilCell.innerText(), EVIL);
      assert.equal(await page.locator("img").count(), 0);
      assert.equal(
        await page.evaluate(() =>
          (globalThis as { __pwned?: unknown }).__pwned
        ),
        undefined,
      );

      // It refreshes itself: a second request shows up without a reload.
      const again = await fetch(`${origin}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(hello()),
      });
      assert.equal(again.headers.get("x-freerouter-model"), B);
      await again.body?.cancel();
      await page.locator("#recent-table tbody tr[data-request-id]").nth(1)
        .waitFor();

      const shot = await screenshot(page, "status_page.png");
      assert.ok((await Deno.stat(shot)).size > 0);
      assertOnlyLocal(urls);
      assert.deepEqual(errors, [], "no script errors");
    } finally {
      await cleanup(context, profile);
    }
  },
});

Deno.test({
  name:
    "status page (Chromium): lists the pool in rank order (the order auto tries it), not the catalog's",
  ignore: skipBrowser,
  async fn() {
    await using s = serve({
      fakeOptions: { models: benchmarkCatalog() },
      strategy: "quality",
    });
    const { origin } = s;
    let context: BrowserContext | undefined;
    let profile: string | undefined;
    try {
      let page: Page;
      ({ context, page, profile } = await launch({ width: 1280, height: 900 }));
      await page.goto(`${origin}/`);
      await page.locator(`tr[data-model="${NANO}"]`).waitFor();
      const ids = await page.locator('[data-col="model"]').allInnerTexts();
      const ranks = await page.locator('[data-col="rank"]').allInnerTexts();
      assert.deepEqual(
        ranks.map(Number),
        ids.map((_, i) => i + 1),
        `rows: ${ids.join(", ")}`,
      );
      assert.equal(ids[0], BIG, "the catalog lists NANO first");
    } finally {
      await cleanup(context, profile);
    }
  },
});

Deno.test({
  name:
    "status page (Chromium): with an access key it asks for the key, rejects a wrong one and shows the pool with the right one",
  ignore: skipBrowser,
  async fn() {
    await using s = serve({ accessKey: "let-me-in" });
    const { origin } = s;
    let context: BrowserContext | undefined;
    let profile: string | undefined;
    try {
      let page: Page;
      ({ context, page, profile } = await launch({ width: 1280, height: 700 }));
      const urls = recordRequests(page);
      await page.goto(`${origin}/`);

      const form = page.locator("#key-form");
      await form.waitFor({ state: "visible" });
      assert.equal(await page.locator("#content").isVisible(), false);
      assert.equal(await page.locator("#key-error").isVisible(), false);
      await screenshot(page, "status_page_key_form.png");

      await page.locator("#key-input").fill("wrong-key");
      await page.locator("#key-submit").click();
      await page.locator("#key-error").waitFor({ state: "visible" });
      assert.match(
        await page.locator("#key-error").innerText(),
        /not accepted/,
      );
      assert.equal(await form.isVisible(), true);

      await page.locator("#key-input").fill("let-me-in");
      await page.locator("#key-submit").click();
      await page.locator(`tr[data-model="${A}"][data-state="ready"]`)
        .waitFor();
      assert.equal(await form.isVisible(), false);
      assert.equal(
        await page.evaluate(() =>
          sessionStorage.getItem("freerouter.accessKey")
        ),
        "let-me-in",
      );

      // The key survives a reload (sessionStorage), so no form this time.
      await page.reload();
      await page.locator(`tr[data-model="${A}"]`).waitFor();
      assert.equal(await form.isVisible(), false);

      assertOnlyLocal(urls);
    } finally {
      await cleanup(context, profile);
    }
  },
});

Deno.test({
  name:
    "status page (Chromium): works behind a path prefix, with or without the trailing slash, in dark mode",
  ignore: skipBrowser,
  async fn() {
    await using s = serve({ prefix: "/fr" });
    const { r, origin } = s;
    r.fake.script(B, modelRpm(B, { resetMs: r.clock.now() + 90_000 }));
    let context: BrowserContext | undefined;
    let profile: string | undefined;
    try {
      let page: Page;
      ({ context, page, profile } = await launch({ width: 1280, height: 700 }));
      await page.emulateMedia({ colorScheme: "dark" });
      const urls = recordRequests(page);
      const statusCalls: number[] = [];
      page.on("response", (res) => {
        if (res.url().includes("/freerouter/status")) {
          statusCalls.push(res.status());
        }
      });
      for (const path of ["/fr/", "/fr"]) {
        await page.goto(`${origin}${path}`);
        await page.locator(`tr[data-model="${A}"][data-state="ready"]`)
          .waitFor();
      }
      // A model that cools down while the page is open shows up on refresh.
      const res = await fetch(`${origin}/fr/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(hello(B)),
      });
      assert.equal(res.status, 200);
      assert.notEqual(res.headers.get("x-freerouter-model"), B, "fell back");
      await res.body?.cancel();
      await page.locator(`tr[data-model="${B}"][data-state="cooling_down"]`)
        .waitFor();

      // The account's daily cap shows as a block with its end.
      r.fake.script(A, dailyCap({ resetMs: r.clock.now() + 3 * 3600_000 }));
      const capped = await fetch(`${origin}/fr/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(hello()),
      });
      assert.equal(capped.status, 429);
      await capped.body?.cancel();
      const account = page.locator("#account-state dd");
      await page.locator("#account-state dd .badge.bad").waitFor();
      assert.match(
        await account.innerText(),
        /^blocked until \d\d:\d\d:\d\d \S+\n.+/,
      );
      await screenshot(page, "status_page_dark.png");

      assertOnlyLocal(urls);
      const paths = urls.map((u) => new URL(u)).filter((u) =>
        u.protocol === "http:"
      ).map((u) => u.pathname);
      assert.ok(
        paths.every((p) => p === "/fr" || p.startsWith("/fr/")),
        `every request stays under the prefix: ${paths.join(", ")}`,
      );
      assert.ok(paths.includes("/fr/v1/freerouter/status"));
      assert.ok(statusCalls.length >= 3);
      assert.ok(statusCalls.every((code) => code === 200), `${statusCalls}`);
    } finally {
      await cleanup(context, profile);
    }
  },
});

Deno.test({
  name:
    "status page (Chromium): an outage of every model shows with its models and the pause's end, then as ordered after the others once the pause is over",
  ignore: skipBrowser,
  async fn() {
    await using s = serve();
    const { r, origin } = s;
    for (const model of [A, B, EVIL]) r.fake.script(model, errorStatus(503));
    const failed = await fetch(`${origin}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(hello()),
    });
    assert.equal(failed.status, 502);
    await failed.body?.cancel();
    let context: BrowserContext | undefined;
    let profile: string | undefined;
    try {
      let page: Page;
      ({ context, page, profile } = await launch({ width: 1280, height: 700 }));
      await page.goto(`${origin}/`);
      const outage = page.locator("#account-outage dd");
      await page.locator("#account-outage dd .badge.bad").waitFor();
      const text = await outage.innerText();
      assert.match(
        text,
        /^no attempt to its models until \d\d:\d\d:\d\d \S+\nround 1 · 3 models failed: /,
      );
      for (const model of [A, B, EVIL]) assert.ok(text.includes(model), model);
      assert.equal(await page.evaluate("window.__pwned"), undefined);
      r.clock.advance(30_000);
      await page.locator("#account-outage dd .badge.warn").waitFor();
      assert.match(
        await outage.innerText(),
        /^its models go after the others until \d\d:\d\d:\d\d \S+\nround 1/,
      );
      await screenshot(page, "status_page_outage.png");
    } finally {
      await cleanup(context, profile);
    }
  },
});
