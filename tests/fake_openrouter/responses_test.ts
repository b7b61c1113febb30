/**
 * The fake OpenRouter's response builders: the 429 bodies with their reset
 * headers, the other error bodies, and the stream events.
 */
import assert from "node:assert/strict";
import {
  badRequest400,
  chunk,
  cloudflare429,
  dailyCap,
  DONE,
  errorIn200WithChoices,
  freeVariantEnded404,
  insufficientCredits402,
  minuteCap,
  modelRpd,
  modelRpm,
  noAuth401,
  noToolEndpoints404,
  overloadedIn200,
  PROCESSING,
  provider401,
  providerError502,
  providerThrottled,
  startFakeOpenRouter,
  type Step,
  streamErrorEvent,
  streamOk,
  usageChunk,
  userNotFound401,
} from "./mod.ts";
import {
  arr,
  chat,
  CODER,
  errorOf,
  json,
  messages,
  rec,
} from "./_test_client.ts";

const decoder = new TextDecoder();

Deno.test("startFakeOpenRouter() serves scripted 429 bodies with reset headers", async () => {
  await using fake = startFakeOpenRouter();
  const cases: Array<{
    step: Step;
    limit: string;
    reset: string;
    message: string | RegExp;
    userId: boolean;
    limitSource?: string;
  }> = [
    {
      step: dailyCap({ resetMs: 1779321600000 }),
      limit: "50",
      reset: "1779321600000",
      message:
        "Rate limit exceeded: free-models-per-day. Add 10 credits to unlock 1000 free model requests per day",
      userId: true,
    },
    {
      step: dailyCap({ resetMs: 1779321600000, withLimitSource: true }),
      limit: "50",
      reset: "1779321600000",
      message: /^Rate limit exceeded: free-models-per-day\. /,
      userId: true,
      limitSource: "openrouter_free_tier_daily",
    },
    {
      step: dailyCap({ resetMs: 1786233600000, highBalance: true }),
      limit: "1000",
      reset: "1786233600000",
      message: "Rate limit exceeded: free-models-per-day-high-balance. ",
      userId: false,
      limitSource: "openrouter_free_tier_daily",
    },
    {
      step: minuteCap({ resetMs: 1774047180000 }),
      limit: "16",
      reset: "1774047180000",
      message: "Rate limit exceeded: free-models-per-min. ",
      userId: true,
    },
    {
      step: modelRpm(CODER, { resetMs: 1783519380000 }),
      limit: "8",
      reset: "1783519380000",
      message:
        /^Rate limit exceeded: limit_rpm\/qwen\/qwen3-coder\/[0-9a-f-]{36}\. High demand for qwen\/qwen3-coder:free on OpenRouter - limited to 8 requests per minute\. Please retry shortly\.$/,
      userId: false,
      limitSource: "openrouter_shared_capacity",
    },
    {
      step: modelRpd("minimax/minimax-m3:free", { resetMs: 1790467200000 }),
      limit: "1000",
      reset: "1790467200000",
      message:
        "Rate limit exceeded: limit_rpd/minimax/minimax-m3. Daily limit reached for minimax/minimax-m3:free via GMICloud.",
      userId: false,
      limitSource: "openrouter_shared_capacity",
    },
  ];
  fake.script(CODER, ...cases.map((c) => c.step));
  for (const c of cases) {
    const res = await chat(fake, { model: CODER, messages: messages() });
    assert.equal(res.status, 429);
    assert.equal(res.headers.get("retry-after"), null);
    assert.equal(res.headers.get("x-ratelimit-limit"), c.limit);
    assert.equal(res.headers.get("x-ratelimit-remaining"), "0");
    assert.equal(res.headers.get("x-ratelimit-reset"), c.reset);
    const body = await json(res);
    const error = errorOf(body);
    assert.equal(error.code, 429);
    if (typeof c.message === "string") assert.equal(error.message, c.message);
    else assert.match(String(error.message), c.message);
    const metadata = rec(error.metadata);
    assert.deepEqual(metadata.headers, {
      "X-RateLimit-Limit": c.limit,
      "X-RateLimit-Remaining": "0",
      "X-RateLimit-Reset": c.reset,
    });
    assert.equal(typeof body.user_id === "string", c.userId);
    assert.equal(metadata.limit_source, c.limitSource);
  }

  // Defaults: daily caps reset at the next UTC midnight, minute caps at the next minute.
  const daily = Number(rec(dailyCap().headers)["X-RateLimit-Reset"]);
  assert.ok(daily > Date.now() && daily % 86_400_000 === 0);
  const minute = Number(rec(minuteCap().headers)["X-RateLimit-Reset"]);
  assert.ok(minute > Date.now() && minute % 60_000 === 0);

  // F: upstream throttling is not a platform cap: no X-RateLimit-* headers.
  fake.script(CODER, providerThrottled(CODER));
  const f = await chat(fake, { model: CODER, messages: messages() });
  assert.equal(f.status, 429);
  assert.equal(f.headers.get("x-ratelimit-reset"), null);
  const fError = errorOf(await json(f));
  assert.equal(fError.message, "Provider returned error");
  const fMeta = rec(fError.metadata);
  assert.match(
    String(fMeta.raw),
    /qwen3-coder:free is temporarily rate-limited upstream/,
  );
  assert.equal(typeof fMeta.provider_name, "string");
  assert.equal(fMeta.limit_source, "upstream_provider_shared_pool");

  // H: the exact 54-byte Cloudflare body.
  fake.script(CODER, cloudflare429());
  const h = await chat(fake, { model: CODER, messages: messages() });
  assert.equal(h.status, 429);
  assert.equal(h.headers.get("content-length"), "54");
  const hBytes = new Uint8Array(await h.arrayBuffer());
  assert.equal(hBytes.length, 54);
  assert.equal(
    decoder.decode(hBytes),
    '{"error":{"message":"Rate limit exceeded","code":429}}',
  );
});

Deno.test("startFakeOpenRouter() serves the other error bodies with matching status codes", async () => {
  await using fake = startFakeOpenRouter();
  const cases: Array<[Step, number, string | RegExp]> = [
    [userNotFound401(), 401, "User not found."],
    [noAuth401(), 401, "No auth credentials found"],
    [provider401(CODER), 401, "Provider returned error"],
    [
      insufficientCredits402(),
      402,
      /^Insufficient credits\. This account never purchased credits\./,
    ],
    [noToolEndpoints404(), 404, "No endpoints found that support tool use"],
    [
      freeVariantEnded404("minimax/minimax-m3:free"),
      404,
      "minimax/minimax-m3:free is unavailable for free. The paid version is available now - use this slug instead: minimax/minimax-m3",
    ],
    [providerError502(CODER), 502, "Provider returned error"],
    [
      badRequest400("x is not a valid model ID"),
      400,
      "x is not a valid model ID",
    ],
  ];
  fake.script(CODER, ...cases.map(([s]) => s));
  for (const [, status, message] of cases) {
    const res = await chat(fake, { model: CODER, messages: messages() });
    assert.equal(res.status, status);
    assert.match(res.headers.get("content-type") ?? "", /application\/json/);
    const error = errorOf(await json(res));
    assert.equal(error.code, status);
    if (typeof message === "string") assert.equal(error.message, message);
    else assert.match(String(error.message), message);
  }

  fake.script(CODER, overloadedIn200(), errorIn200WithChoices());
  const o = await chat(fake, { model: CODER, messages: messages() });
  assert.equal(o.status, 200);
  const oBody = await json(o);
  assert.equal(oBody.choices, undefined);
  assert.equal(errorOf(oBody).code, 503);

  const w = await chat(fake, { model: CODER, messages: messages() });
  assert.equal(w.status, 200);
  const choice = rec(arr((await json(w)).choices)[0]);
  assert.equal(choice.finish_reason, "error");
  assert.equal(rec(choice.message).content, "partial output...");
  assert.equal(rec(choice.error).code, 502);
});

Deno.test("startFakeOpenRouter() stream helpers produce OpenRouter-shaped events", () => {
  const c = chunk(CODER, "hi", "stop", {
    id: "gen-1-x",
    created: 5,
    provider: "Chutes",
  });
  assert.ok(c.startsWith("data: ") && c.endsWith("\n\n"));
  assert.deepEqual(JSON.parse(c.slice(6)), {
    id: "gen-1-x",
    provider: "Chutes",
    model: CODER,
    object: "chat.completion.chunk",
    created: 5,
    choices: [{
      index: 0,
      delta: { content: "hi" },
      finish_reason: "stop",
      native_finish_reason: "stop",
      logprobs: null,
    }],
  });
  const u = rec(JSON.parse(usageChunk(CODER).slice(6)));
  assert.deepEqual(u.choices, []);
  assert.equal(rec(u.usage).cost, 0);

  const withChoices = rec(JSON.parse(
    streamErrorEvent({ withChoices: true, code: 429 }).slice(6),
  ));
  assert.equal(rec(withChoices.error).code, 429);
  assert.equal(rec(arr(withChoices.choices)[0]).finish_reason, "error");
  const stringCode = rec(JSON.parse(
    streamErrorEvent({ withChoices: true, code: "server_error" }).slice(6),
  ));
  assert.equal(rec(stringCode.error).code, "server_error");
  const bare = rec(JSON.parse(
    streamErrorEvent({ withChoices: false, code: 429 }).slice(6),
  ));
  assert.equal(bare.choices, undefined);
  assert.equal(typeof bare.user_id, "string");
  assert.match(String(rec(bare.error).message), /free-models-per-day/);

  assert.equal(DONE, "data: [DONE]\n\n");
  assert.equal(PROCESSING, ": OPENROUTER PROCESSING\n\n");
  const s = streamOk(CODER, ["a", "b"]);
  assert.equal(s.parts.length, 6);
  assert.equal(s.parts.at(-1), DONE);
  assert.equal(s.parts.at(-2)?.toString().includes('"choices":[]'), true);
});
