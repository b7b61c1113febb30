/**
 * The status page's quota parts in a real headless Chromium (Debian's
 * `chromium`, driven by `playwright-core`): the day's quota with the reset
 * counting down and the projection, each client's usage, each model's rank
 * and quality score, each recent request's API, and continuation attempts;
 * first from a fixed status report, then end to end with the proxy, `/key`
 * and client keys. Skipped only where Chromium is absent outside CI.
 */
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import type { BrowserContext, Page } from "playwright-core";
import { STATUS_PAGE_HTML } from "../src/ops/status_page.ts";
import { hello, manualClock, rig } from "./_harness.ts";
import { serveOnLoopback } from "./_streams.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();
const ignore = !hasChromium && Deno.env.get("CI") !== "true";

async function withPage(
  fn: (page: Page, errors: string[]) => Promise<void>,
  viewer: { timezoneId?: string; locale?: string } = {},
): Promise<void> {
  const profile = await Deno.makeTempDir({ prefix: "freerouter-chromium-" });
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(profile, {
      ...viewer,
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    const page = context.pages()[0] ?? await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (err) => void errors.push(String(err)));
    await fn(page, errors);
  } finally {
    await context?.close();
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

/** A status report as the proxy writes it, with every field the page reads. */
function report(now: number): Record<string, unknown> {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    strategy: "quality",
    catalog: { size: 2, fetched_at: iso(now) },
    account: {
      blocked: false,
      requests_this_minute: 1,
      requests_today: 30,
      rpm_limit: 20,
      daily_limit: 50,
    },
    limiter: { waiting: 0 },
    quota: {
      used_today: 30,
      daily_limit: 50,
      remaining_today: 20,
      limit_source: "key",
      exhausted: false,
      blocked_by: null,
      resets_at: iso(now + 5 * 3600_000),
      resets_in_seconds: 5 * 3600,
      projection: {
        rate_per_hour: 20,
        runs_out_at: iso(now + 3600_000),
        runs_out_in_seconds: 3600,
        lasts_until_reset: false,
      },
      key: {
        checked_at: iso(now),
        error: null,
        is_free_tier: true,
      },
    },
    clients: [
      {
        name: "alice",
        requests_today: 3,
        requests_this_minute: 1,
        last_request_at: iso(now),
        requests_per_day: 200,
        requests_per_minute: null,
        models: ["auto", "qwen/*"],
      },
      {
        name: "<b>bob</b>",
        requests_today: 0,
        requests_this_minute: 0,
        last_request_at: null,
        requests_per_day: null,
        requests_per_minute: 5,
        models: null,
      },
    ],
    pool: [
      {
        id: "a/one:free",
        rank: 1,
        quality_score: 61.2,
        quality_source: "intelligence_index",
        state: "ready",
        attempts: 2,
      },
      {
        id: "b/two:free",
        rank: 2,
        quality_score: null,
        state: "ready",
        attempts: 1,
      },
    ],
    aliases: [
      {
        name: "auto:coding",
        description: "The best coder",
        custom: false,
        models: ["m/1", "m/2", "m/3", "m/4", "m/5", "m/6", "m/7"],
      },
      { name: "mine", description: "Yours", custom: true, models: [] },
    ],
    recent: [{
      id: "req-1",
      at: iso(now),
      api: "messages",
      method: "POST",
      path: "/v1/messages",
      status: 200,
      model: "b/two:free",
      attempts: [
        { model: "a/one:free", outcome: "ok", ms: 40 },
        { model: "b/two:free", outcome: "ok", ms: 30, continuation: true },
      ],
      latency_ms: 70,
      stream: true,
      error: null,
    }],
  };
}

/** The status page on loopback, its status endpoint answering `status`. */
function servePage(status: Record<string, unknown>) {
  return serveOnLoopback((req) =>
    new URL(req.url).pathname.endsWith("/freerouter/status")
      ? Response.json(status)
      : new Response(STATUS_PAGE_HTML, {
        headers: { "content-type": "text/html" },
      })
  );
}

Deno.test({
  name:
    "status page (Chromium): shows the day's quota with a live reset countdown and the projection, the clients, ranks and quality, APIs and continuations",
  ignore,
  async fn() {
    const now = Date.now();
    await using served = servePage(report(now));
    await withPage(async (page, errors) => {
      await page.goto(`${served.url}/`);
      await page.locator("#quota-used").waitFor();
      assert.match(
        await page.locator("#quota-used dd").innerText(),
        /^30 of 50/,
      );
      assert.equal(await page.locator("#quota-remaining dd").innerText(), "20");
      const reset = page.locator("#quota-reset .countdown");
      const first = await reset.innerText();
      assert.match(first, /^[45] h \d\d min$/);
      assert.match(
        await page.locator("#quota-projection dd").innerText(),
        /20 requests\/hour over the last hour: runs out at \d\d:\d\d:\d\d \S+\s+in (59 min \d\d s|1 h 00 min)/,
      );
      assert.match(
        await page.locator("#quota-key dd").innerText(),
        /checked .* free tier/,
      );
      // The countdown ticks without a new status.
      const runsOut = page.locator("#quota-projection .countdown");
      const before = await runsOut.innerText();
      await page.waitForFunction(
        `document.querySelector("#quota-projection .countdown")?.textContent !== ${
          JSON.stringify(before)
        }`,
      );

      const alice = page.locator('#clients-table tr[data-client="alice"]');
      assert.equal(
        await alice.locator('[data-col="today"]').innerText(),
        "3 / 200",
      );
      assert.equal(await alice.locator('[data-col="minute"]').innerText(), "1");
      assert.equal(
        await alice.locator('[data-col="models"]').innerText(),
        "auto, qwen/*",
      );
      const bob = page.locator('#clients-table tr[data-client="<b>bob</b>"]');
      assert.equal(
        await bob.locator('[data-col="name"]').innerText(),
        "<b>bob</b>",
      );
      assert.equal(
        await bob.locator('[data-col="minute"]').innerText(),
        "0 / 5",
      );
      assert.equal(await bob.locator('[data-col="last"]').innerText(), "—");
      assert.equal(
        await page.locator("#clients b").count(),
        0,
        "names are text",
      );

      const one = page.locator('#pool-table tr[data-model="a/one:free"]');
      assert.equal(await one.locator('[data-col="rank"]').innerText(), "1");
      assert.equal(
        await one.locator('[data-col="quality"]').innerText(),
        "61.2 (intelligence_index)",
      );
      const two = page.locator('#pool-table tr[data-model="b/two:free"]');
      assert.equal(await two.locator('[data-col="quality"]').innerText(), "—");

      const coding = page.locator(
        '#aliases-table tr[data-alias="auto:coding"]',
      );
      assert.equal(
        await coding.locator('[data-col="models"]').innerText(),
        "m/1, m/2, m/3, m/4, m/5, +2 more",
      );
      assert.equal(
        await coding.locator('[data-col="picks"]').innerText(),
        "The best coder",
      );
      const mine = page.locator('#aliases-table tr[data-alias="mine"]');
      assert.equal(
        await mine.locator('[data-col="alias"]').innerText(),
        "mine (yours)",
      );
      assert.equal(
        await mine.locator('[data-col="models"]').innerText(),
        "no model serves it",
      );

      const request = page.locator('#recent-table tr[data-request-id="req-1"]');
      assert.equal(await request.getAttribute("data-api"), "messages");
      assert.equal(
        await request.locator('[data-col="api"]').innerText(),
        "messages",
      );
      const continued = request.locator('li[data-continuation="true"]');
      assert.equal(await continued.count(), 1);
      assert.equal(
        await continued.getAttribute("data-attempt-model"),
        "b/two:free",
      );
      assert.match(await continued.innerText(), /continued on b\/two:free/);
      assert.deepEqual(errors, []);
    });
  },
});

Deno.test({
  name:
    "status page (Chromium): end to end, the quota read from /key and each client's usage after its requests",
  ignore,
  async fn() {
    const r = rig({
      clock: manualClock(Date.now()),
      quotaRefresh: 300,
      fakeOptions: {
        key: {
          free_model_daily_requests: { used: 12, limit: 50, remaining: 38 },
        },
      },
      clientKeys: [
        { name: "alice", key: "fr-alice-page-0001", requestsPerDay: 10 },
        { name: "ci", key: "fr-ci-page-0002" },
      ],
    });
    await using served = serveOnLoopback(r.handler);
    try {
      await r.handler.refreshQuota();
      for (const stream of [false, true]) {
        const res = await r.chat(hello("auto", { stream }), {
          headers: {
            "content-type": "application/json",
            authorization: "Bearer fr-alice-page-0001",
          },
        });
        assert.equal(res.status, 200);
        await res.body?.cancel();
      }
      await withPage(async (page, errors) => {
        await page.goto(`${served.url}/`);
        await page.locator("#key-form").waitFor({ state: "visible" });
        await page.locator("#key-input").fill("fr-ci-page-0002");
        await page.locator("#key-submit").click();
        await page.locator('#clients-table tr[data-client="alice"]').waitFor();
        assert.match(
          await page.locator("#quota-used dd").innerText(),
          /^14 of 50/,
        );
        assert.equal(
          await page.locator("#quota-remaining dd").innerText(),
          "36",
        );
        assert.equal(
          await page.locator('tr[data-client="alice"] [data-col="today"]')
            .innerText(),
          "2 / 10",
        );
        assert.equal(
          await page.locator('tr[data-client="ci"] [data-col="today"]')
            .innerText(),
          "0",
        );
        const apis = await page.locator("#recent-table tr[data-request-id]")
          .evaluateAll((rows) =>
            rows.map((row) => row.getAttribute("data-api"))
          );
        assert.deepEqual(apis, ["chat", "chat"]);
        assert.doesNotMatch(await page.content(), /fr-alice-page-0001/);
        assert.deepEqual(errors, []);
      });
    } finally {
      await r[Symbol.asyncDispose]();
    }
  },
});

Deno.test({
  name:
    "status page (Chromium): times of day name the viewer's time zone, since the reset is shown in UTC beside them",
  ignore,
  async fn() {
    const now = Date.now();
    await using served = servePage(report(now));
    await withPage(async (page, errors) => {
      await page.goto(`${served.url}/`);
      await page.locator("#quota-projection").waitFor();
      // The projection's instant as New York's clocks show it.
      const runsOut = new Intl.DateTimeFormat("en-US", {
        timeZone: "America/New_York",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
        hourCycle: "h23",
        timeZoneName: "short",
      }).format(new Date(now + 3600_000));
      const [hms, zone] = runsOut.split(" ");
      assert.match(zone!, /^(EST|EDT)$/);
      assert.ok(
        (await page.locator("#quota-projection dd").innerText()).includes(
          `runs out at ${hms} ${zone}`,
        ),
        `${runsOut} in the projection`,
      );
      assert.match(
        await page.locator("#quota-reset dd").innerText(),
        new RegExp(`\\d\\d:\\d\\d:\\d\\d ${zone}`),
      );
      assert.deepEqual(errors, []);
    }, { timezoneId: "America/New_York", locale: "en-US" });
  },
});
