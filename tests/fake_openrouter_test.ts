import assert from "node:assert/strict";
import {
  badRequest400,
  catalogRow,
  chunk,
  cloudflare429,
  completionBody,
  dailyCap,
  defaultCatalog,
  DONE,
  errorIn200WithChoices,
  type FakeOpenRouter,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER,
  FREE_ROUTER_PICK,
  freeVariantEnded404,
  insufficientCredits402,
  minuteCap,
  modelRpd,
  modelRpm,
  noAuth401,
  noToolEndpoints404,
  ok,
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
} from "./fake_openrouter.ts";

const KEY = "sk-or-v1-0123456789abcdef0123456789abcdef";
const CODER = "qwen/qwen3-coder:free";
const LLAMA = "meta-llama/llama-3.3-70b-instruct:free";
const NO_TOOLS = "meta-llama/llama-3.2-3b-instruct:free";
const decoder = new TextDecoder();

type Json = Record<string, unknown>;

function isRecord(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function rec(v: unknown): Json {
  assert.ok(isRecord(v), `expected an object, got ${JSON.stringify(v)}`);
  return v;
}

function arr(v: unknown): unknown[] {
  assert.ok(Array.isArray(v), `expected an array, got ${JSON.stringify(v)}`);
  return v;
}

interface ChatInit {
  headers?: Record<string, string>;
  signal?: AbortSignal;
  auth?: boolean;
}

function chat(
  fake: FakeOpenRouter,
  body: Json,
  init: ChatInit = {},
): Promise<Response> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    ...init.headers,
  };
  if (init.auth !== false) headers.authorization = `Bearer ${KEY}`;
  return fetch(`${fake.baseUrl}/chat/completions`, {
    method: "POST",
    headers,
    body: JSON.stringify(body),
    signal: init.signal,
  });
}

function messages(): Json[] {
  return [{ role: "user", content: "hi" }];
}

async function json(res: Response): Promise<Json> {
  return rec(await res.json());
}

function errorOf(body: Json): Json {
  return rec(body.error);
}

/** `data:` payloads of an SSE text, in order (comments skipped). */
function sseEvents(text: string): string[] {
  return text.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) =>
    e.slice("data: ".length)
  );
}

/** Reads from `reader` until the accumulated text contains `needle`. */
async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  needle: string,
  sofar = "",
): Promise<string> {
  let text = sofar;
  while (!text.includes(needle)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before ${JSON.stringify(needle)}`);
    text += decoder.decode(value, { stream: true });
  }
  return text;
}

async function readAll(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  sofar = "",
): Promise<string> {
  let text = sofar;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return text;
    text += decoder.decode(value, { stream: true });
  }
}

// ---------------------------------------------------------------------------

Deno.test("startFakeOpenRouter() serves text-output rows by default and every row with output_modalities=all", async () => {
  await using fake = startFakeOpenRouter();

  const def = await json(await fetch(`${fake.baseUrl}/models`));
  const data = arr(def.data);
  assert.equal(def.total_count, data.length);
  assert.deepEqual(def.links, { next: null });
  const ids = data.filter(isRecord).map((r) => r.id);
  for (const id of [CODER, "openrouter/free", "google/lyria-3-clip-preview"]) {
    assert.ok(ids.includes(id), id);
  }
  for (
    const hidden of [
      "google/lyria-3-pro-preview",
      "sourceful/riverflow-v2.5-pro:free",
      "respan/span-01-lite:free",
      "recraft/recraft-v4",
    ]
  ) {
    assert.ok(!ids.includes(hidden), hidden);
  }
  // Malformed rows are served too; clients must skip them.
  assert.ok(data.includes("broken/not-an-object:free"));
  assert.ok(ids.includes("broken/null-pricing:free"));

  const all = await json(
    await fetch(`${fake.baseUrl}/models?output_modalities=all`),
  );
  assert.equal(arr(all.data).length, fake.models.length);
  assert.equal(all.total_count, fake.models.length);

  const images = await json(
    await fetch(`${fake.baseUrl}/models?output_modalities=image`),
  );
  assert.deepEqual(
    arr(images.data).filter(isRecord).map((r) => r.id).sort(),
    ["recraft/recraft-v4", "sourceful/riverflow-v2.5-pro:free"],
  );

  const tools = await json(
    await fetch(`${fake.baseUrl}/models?supported_parameters=tools`),
  );
  assert.ok(arr(tools.data).length > 5);
  for (const r of arr(tools.data)) {
    assert.ok(arr(rec(r).supported_parameters).includes("tools"));
  }
  assert.ok(!arr(tools.data).some((r) => rec(r).id === NO_TOOLS));

  // Prices are decimal strings in every well-formed row.
  const coder = rec(data.find((r) => isRecord(r) && r.id === CODER));
  assert.deepEqual(coder.pricing, { prompt: "0", completion: "0" });
  assert.equal(coder.context_length, 1048576);

  fake.models = [catalogRow({ id: "acme/only:free" })];
  const replaced = await json(await fetch(`${fake.baseUrl}/models`));
  assert.deepEqual(arr(replaced.data).map((r) => rec(r).id), [
    "acme/only:free",
  ]);

  assert.deepEqual(fake.modelsRequests().map((r) => r.search), [
    "",
    "?output_modalities=all",
    "?output_modalities=image",
    "?supported_parameters=tools",
    "",
  ]);
});

Deno.test("startFakeOpenRouter() answers scripted steps per model in order, then the default success", async () => {
  await using fake = startFakeOpenRouter();
  fake.script(CODER, dailyCap(), badRequest400("bad thing"));
  assert.equal(fake.pendingSteps(CODER), 2);

  const r1 = await chat(fake, { model: CODER, messages: messages() });
  assert.equal(r1.status, 429);
  await r1.body?.cancel();

  // Another model is unaffected by CODER's queue.
  const other = await chat(fake, { model: LLAMA, messages: messages() });
  assert.equal(other.status, 200);
  assert.equal((await json(other)).model, LLAMA);

  const r2 = await chat(fake, { model: CODER, messages: messages() });
  assert.equal(r2.status, 400);
  assert.equal(errorOf(await json(r2)).message, "bad thing");

  const r3 = await chat(fake, { model: CODER, messages: messages() });
  assert.equal(r3.status, 200);
  assert.match(r3.headers.get("x-generation-id") ?? "", /^gen-/);
  const body = await json(r3);
  assert.match(String(body.id), /^gen-\d+-[A-Za-z0-9]{20}$/);
  assert.equal(body.model, CODER);
  assert.equal(body.object, "chat.completion");
  assert.equal(typeof body.provider, "string");
  assert.equal(typeof body.created, "number");
  const choice = rec(arr(body.choices)[0]);
  assert.equal(choice.index, 0);
  assert.equal(choice.finish_reason, "stop");
  assert.equal(choice.native_finish_reason, "stop");
  assert.equal(choice.logprobs, null);
  assert.deepEqual(
    { role: rec(choice.message).role, content: rec(choice.message).content },
    { role: "assistant", content: "Hello world" },
  );
  assert.equal(rec(body.usage).total_tokens, 35);
  assert.equal(fake.pendingSteps(CODER), 0);
  assert.deepEqual(fake.chatRequests().map((r) => r.model), [
    CODER,
    LLAMA,
    CODER,
    CODER,
  ]);
});

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

Deno.test("startFakeOpenRouter() records method, path, query, headers, body and model", async () => {
  await using fake = startFakeOpenRouter();
  const res = await chat(fake, {
    model: LLAMA,
    messages: messages(),
    temperature: 0,
  }, {
    headers: { "x-openrouter-title": "freerouter" },
  });
  await res.body?.cancel();
  const models = await fetch(`${fake.baseUrl}/models?output_modalities=text`);
  await models.body?.cancel();
  const raw = await fetch(`${fake.baseUrl}/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}` },
    body: "not json",
  });
  assert.equal(raw.status, 400);
  await raw.body?.cancel();

  assert.equal(fake.requests.length, 3);
  const [c, m, r] = fake.requests;
  assert.ok(c && m && r);
  assert.equal(c.method, "POST");
  assert.equal(c.path, "/api/v1/chat/completions");
  assert.equal(c.search, "");
  assert.equal(c.headers.get("authorization"), `Bearer ${KEY}`);
  assert.equal(c.headers.get("x-openrouter-title"), "freerouter");
  assert.deepEqual(c.body, {
    model: LLAMA,
    messages: messages(),
    temperature: 0,
  });
  assert.equal(c.model, LLAMA);
  assert.equal(c.isAborted(), false);

  assert.equal(m.method, "GET");
  assert.equal(m.path, "/api/v1/models");
  assert.equal(m.search, "?output_modalities=text");
  assert.equal(m.body, undefined);
  assert.equal(m.model, undefined);

  assert.equal(r.body, "not json");
  assert.equal(r.model, undefined);
  assert.deepEqual(fake.chatRequests(), [c, r]);
  assert.deepEqual(fake.modelsRequests(), [m]);
});

Deno.test("startFakeOpenRouter() validates auth, model ids and tool support by default", async () => {
  await using fake = startFakeOpenRouter();
  const tools = [{
    type: "function",
    function: { name: "f", parameters: { type: "object", properties: {} } },
  }];

  fake.script(CODER, ok(CODER, "scripted"));
  const noAuth = await chat(fake, { model: CODER, messages: messages() }, {
    auth: false,
  });
  assert.equal(noAuth.status, 401);
  assert.deepEqual(await noAuth.json(), {
    error: { message: "No auth credentials found", code: 401 },
  });
  assert.equal(fake.pendingSteps(CODER), 1, "401 does not consume a step");
  const scripted = await chat(fake, { model: CODER, messages: messages() });
  assert.equal(
    rec(rec(arr((await json(scripted)).choices)[0]).message).content,
    "scripted",
  );

  const unknown = await chat(fake, {
    model: "acme/nope:free",
    messages: messages(),
  });
  assert.equal(unknown.status, 400);
  assert.deepEqual(await unknown.json(), {
    error: { message: "acme/nope:free is not a valid model ID", code: 400 },
  });

  const noTools = await chat(fake, {
    model: NO_TOOLS,
    messages: messages(),
    tools,
  });
  assert.equal(noTools.status, 404);
  assert.equal(
    errorOf(await json(noTools)).message,
    "No endpoints found that support tool use",
  );
  const withTools = await chat(fake, {
    model: CODER,
    messages: messages(),
    tools,
  });
  assert.equal(withTools.status, 200);
  await withTools.body?.cancel();

  // Scripted steps win over the default tool check.
  fake.script(NO_TOOLS, ok(NO_TOOLS));
  const forced = await chat(fake, {
    model: NO_TOOLS,
    messages: messages(),
    tools,
  });
  assert.equal(forced.status, 200);
  await forced.body?.cancel();

  const tooMany = await chat(fake, {
    model: CODER,
    models: [CODER, LLAMA, NO_TOOLS, "openrouter/free"],
    messages: messages(),
  });
  assert.equal(tooMany.status, 400);
  assert.equal(
    errorOf(await json(tooMany)).message,
    "'models' array must have 3 items or fewer.",
  );

  const router = await chat(fake, {
    model: "openrouter/free",
    messages: messages(),
  });
  assert.equal((await json(router)).model, FREE_ROUTER_PICK);
});

Deno.test("startFakeOpenRouter() streams streamOk() by default for stream:true", async () => {
  await using fake = startFakeOpenRouter();
  const res = await chat(fake, {
    model: CODER,
    messages: messages(),
    stream: true,
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
  const events = sseEvents(await res.text());
  assert.equal(events.at(-1), "[DONE]");
  const chunks = events.slice(0, -1).map((e) => rec(JSON.parse(e)));
  assert.ok(chunks.every((c) => c.object === "chat.completion.chunk"));
  assert.ok(chunks.every((c) => c.model === CODER));
  assert.equal(new Set(chunks.map((c) => c.id)).size, 1, "one generation id");
  assert.deepEqual(
    rec(rec(arr(chunks[0]?.choices)[0]).delta).role,
    "assistant",
  );
  const usage = chunks.at(-1);
  assert.ok(usage);
  assert.deepEqual(usage.choices, []);
  assert.equal(rec(usage.usage).prompt_tokens, 12);
  const content = chunks.slice(0, -1).map((c) =>
    String(rec(rec(arr(c.choices)[0]).delta).content ?? "")
  ).join("");
  assert.equal(content, "Hello world");
  const finish = rec(arr(chunks.at(-2)?.choices)[0]);
  assert.equal(finish.finish_reason, "stop");
});

Deno.test("startFakeOpenRouter() marks a hung request aborted when the client aborts", async () => {
  await using fake = startFakeOpenRouter();
  fake.script(CODER, { hang: true });
  const ac = new AbortController();
  const pending = chat(fake, { model: CODER, messages: messages() }, {
    signal: ac.signal,
  });
  await fake.waitForChatRequests(1);
  const recorded = fake.chatRequests()[0];
  assert.ok(recorded);
  assert.equal(recorded.isAborted(), false);
  ac.abort();
  await assert.rejects(
    pending,
    (e: unknown) => (e as Error).name === "AbortError",
  );
  await recorded.aborted;
  assert.equal(recorded.isAborted(), true);
});

Deno.test("startFakeOpenRouter() marks a stream aborted when the client aborts mid-stream", async () => {
  await using fake = startFakeOpenRouter();
  fake.script(CODER, {
    stream: { parts: [PROCESSING, chunk(CODER, "first")], end: "hang" },
  });
  const ac = new AbortController();
  const res = await chat(fake, {
    model: CODER,
    messages: messages(),
    stream: true,
  }, {
    signal: ac.signal,
  });
  const reader = res.body!.getReader();
  await readUntil(reader, '"first"');
  const recorded = fake.chatRequests()[0];
  assert.ok(recorded);
  assert.equal(recorded.isAborted(), false);
  ac.abort();
  await assert.rejects(reader.read());
  await recorded.aborted;
  assert.equal(recorded.isAborted(), true);
});

Deno.test("startFakeOpenRouter() writes stream parts in order and waits on gate functions", async () => {
  await using fake = startFakeOpenRouter();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let gateCalls = 0;
  fake.script(CODER, {
    stream: {
      parts: [
        PROCESSING,
        chunk(CODER, "one"),
        () => {
          gateCalls++;
          return gate;
        },
        chunk(CODER, "two"),
        new TextEncoder().encode(
          streamErrorEvent({ withChoices: true, code: 502 }),
        ),
        DONE,
      ],
    },
  });
  const res = await chat(fake, {
    model: CODER,
    messages: messages(),
    stream: true,
  });
  const reader = res.body!.getReader();
  const head = await readUntil(reader, '"one"');
  assert.ok(head.startsWith(PROCESSING));
  assert.ok(
    !head.includes('"two"'),
    "gated part must not be sent before release",
  );
  assert.equal(gateCalls, 1);
  release();
  const text = await readAll(reader, head);
  const order = [PROCESSING, '"one"', '"two"', '"finish_reason":"error"', DONE]
    .map(
      (s) => text.indexOf(s),
    );
  assert.ok(order.every((i) => i >= 0), `all parts present: ${order}`);
  assert.deepEqual(order, [...order].sort((a, b) => a - b));
  assert.equal(fake.chatRequests()[0]?.isAborted(), false);
});

Deno.test("startFakeOpenRouter() reset steps break the client's connection", async () => {
  await using fake = startFakeOpenRouter();
  fake.script(CODER, { reset: true }, {
    stream: { parts: [chunk(CODER, "partial")], end: "reset" },
  });

  // Before any status: fetch() itself rejects.
  await assert.rejects(
    chat(fake, { model: CODER, messages: messages() }),
    TypeError,
  );

  // Mid-stream: the status and some data arrive, then the body read rejects.
  const res = await chat(fake, {
    model: CODER,
    messages: messages(),
    stream: true,
  });
  assert.equal(res.status, 200);
  await assert.rejects(res.text());

  // The fake broke these itself; the client did not abort.
  assert.deepEqual(fake.chatRequests().map((r) => r.isAborted()), [
    false,
    false,
  ]);

  // The server keeps working afterwards.
  const after = await chat(fake, { model: CODER, messages: messages() });
  assert.equal(after.status, 200);
  await after.body?.cancel();
});

Deno.test("startFakeOpenRouter() sends leadingWhitespace before the JSON body", async () => {
  await using fake = startFakeOpenRouter();
  fake.script(CODER, {
    leadingWhitespace: "\n\n\n",
    body: completionBody(CODER, "padded"),
  });
  const res = await chat(fake, { model: CODER, messages: messages() });
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.ok(text.startsWith("\n\n\n{"));
  const body = rec(JSON.parse(text.trim()));
  assert.equal(rec(rec(arr(body.choices)[0]).message).content, "padded");

  // With a long delay the padding arrives alone; aborting clears the timer.
  fake.script(CODER, {
    leadingWhitespace: "\n\n",
    delayMs: 600_000,
    body: completionBody(CODER),
  });
  const ac = new AbortController();
  const slow = await chat(fake, { model: CODER, messages: messages() }, {
    signal: ac.signal,
  });
  assert.equal(slow.status, 200);
  const reader = slow.body!.getReader();
  const first = await reader.read();
  assert.equal(decoder.decode(first.value), "\n\n");
  ac.abort();
  await assert.rejects(reader.read());
  const recorded = fake.chatRequests()[1];
  assert.ok(recorded);
  await recorded.aborted;
});

Deno.test("startFakeOpenRouter() delayMs is cancelled when the client aborts", async () => {
  await using fake = startFakeOpenRouter();
  fake.script(CODER, { delayMs: 600_000, body: completionBody(CODER) });
  const ac = new AbortController();
  const pending = chat(fake, { model: CODER, messages: messages() }, {
    signal: ac.signal,
  });
  await fake.waitForChatRequests(1);
  ac.abort();
  await assert.rejects(pending);
  await fake.chatRequests()[0]?.aborted;
});

Deno.test("startFakeOpenRouter() gates a plain response until the gate resolves", async () => {
  await using fake = startFakeOpenRouter();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  fake.script(CODER, { ...ok(CODER, "late"), gate: () => gate });
  let settled = false;
  const pending = chat(fake, { model: CODER, messages: messages() }).then(
    (r) => {
      settled = true;
      return r;
    },
  );
  await fake.waitForChatRequests(1);
  // A second, ungated request completes while the first is held back.
  const other = await chat(fake, { model: LLAMA, messages: messages() });
  await other.body?.cancel();
  assert.equal(settled, false);
  release();
  const res = await pending;
  assert.equal(
    rec(rec(arr((await json(res)).choices)[0]).message).content,
    "late",
  );
});

Deno.test("startFakeOpenRouter() waitForChatRequests() counts concurrent requests", async () => {
  await using fake = startFakeOpenRouter();
  fake.script(CODER, { hang: true }, { hang: true }, { hang: true });
  const ac = new AbortController();
  const pending = [1, 2, 3].map(() =>
    chat(fake, { model: CODER, messages: messages() }, { signal: ac.signal })
  );
  await fake.waitForChatRequests(3);
  assert.equal(fake.chatRequests().length, 3);
  await fake.waitForChatRequests(2); // already reached
  ac.abort();
  for (const p of pending) await assert.rejects(p);
  await Promise.all(fake.chatRequests().map((r) => r.aborted));

  const never = fake.waitForChatRequests(10);
  await fake.close();
  await assert.rejects(never, /closed/);
});

Deno.test("startFakeOpenRouter() close() releases hung requests and streams", async () => {
  const fake = startFakeOpenRouter();
  fake.script(CODER, { hang: true }, {
    stream: { parts: [chunk(CODER, "a"), () => new Promise<void>(() => {})] },
  });
  const hung = chat(fake, { model: CODER, messages: messages() });
  const streamRes = await chat(fake, {
    model: CODER,
    messages: messages(),
    stream: true,
  });
  const reader = streamRes.body!.getReader();
  await readUntil(reader, '"a"');
  await fake.waitForChatRequests(2);
  await Promise.all([
    fake.close(),
    assert.rejects(hung, TypeError),
    assert.rejects(readAll(reader)),
  ]);
  assert.deepEqual(fake.chatRequests().map((r) => r.isAborted()), [
    false,
    false,
  ]);
  await fake.close(); // idempotent
});

Deno.test("startFakeOpenRouter() serves GET /key and scripted /models responses", async () => {
  await using fake = startFakeOpenRouter({ key: { is_free_tier: false } });

  const missing = await fetch(`${fake.baseUrl}/key`);
  assert.equal(missing.status, 401);
  assert.deepEqual(await missing.json(), {
    error: { message: "User not found.", code: 401 },
  });
  const wrong = await fetch(`${fake.baseUrl}/key`, {
    headers: { authorization: "Bearer not-an-openrouter-key" },
  });
  assert.equal(wrong.status, 401);
  await wrong.body?.cancel();

  fake.key.free_model_daily_requests = { used: 60, limit: 50, remaining: 0 };
  const good = await fetch(`${fake.baseUrl}/key`, {
    headers: { authorization: `Bearer ${KEY}` },
  });
  assert.equal(good.status, 200);
  const data = rec((await json(good)).data);
  assert.equal(data.label, "sk-or-v1-01...def");
  assert.equal(data.is_free_tier, false);
  assert.deepEqual(data.free_model_daily_requests, {
    used: 60,
    limit: 50,
    remaining: 0,
  });
  assert.equal(rec(data.rate_limit).requests, -1);
  assert.equal(fake.keyRequests().length, 3);

  fake.scriptModels(minuteCap(), { status: 500, body: "oops" });
  const m1 = await fetch(`${fake.baseUrl}/models`);
  assert.equal(m1.status, 429);
  await m1.body?.cancel();
  const m2 = await fetch(`${fake.baseUrl}/models`);
  assert.equal(m2.status, 500);
  assert.equal(await m2.text(), "oops");
  const m3 = await fetch(`${fake.baseUrl}/models`);
  assert.equal(m3.status, 200);
  assert.ok(arr((await json(m3)).data).length > 20);
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

Deno.test("FREE_CHAT_IDS_IN_PRIORITY_ORDER has unique catalog ids and follows the pool rules", () => {
  const ids = FREE_CHAT_IDS_IN_PRIORITY_ORDER;
  assert.equal(new Set(ids).size, ids.length, "no duplicates");
  const catalog = defaultCatalog();
  const byId = new Map(
    catalog.filter(isRecord).map((r) => [r.id, r] as const),
  );
  for (const id of ids) assert.ok(byId.has(id), `${id} is in the catalog`);

  // An independent implementation of the pool rules must agree with the literal.
  const price = (v: unknown) =>
    typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
  const pool = catalog.flatMap((row) => {
    if (!isRecord(row) || typeof row.id !== "string") return [];
    if (typeof row.context_length !== "number") return [];
    if (!isRecord(row.pricing) || !isRecord(row.architecture)) return [];
    const prices = Object.entries(row.pricing).filter(([k]) =>
      k !== "discount"
    );
    const nums = prices.map(([, v]) => price(v));
    if (nums.some((n) => Number.isNaN(n) || n < 0)) return [];
    if (
      price(row.pricing.prompt) !== 0 || price(row.pricing.completion) !== 0
    ) {
      return [];
    }
    if (nums.some((n) => n > 0)) return [];
    const a = row.architecture;
    const inputs = Array.isArray(a.input_modalities) ? a.input_modalities : [];
    if (!inputs.includes("text")) return [];
    const textOut = Array.isArray(a.output_modalities)
      ? a.output_modalities.length === 1 && a.output_modalities[0] === "text"
      : typeof a.modality === "string" && a.modality.endsWith("->text");
    if (!textOut) return [];
    return [{
      id: row.id,
      free: row.id.endsWith(":free"),
      ctx: row.context_length,
    }];
  });
  pool.sort((x, y) =>
    Number(y.free) - Number(x.free) || y.ctx - x.ctx ||
    (x.id < y.id ? -1 : x.id > y.id ? 1 : 0)
  );
  assert.deepEqual(ids, pool.map((p) => p.id));

  // Fresh copies per call.
  const again = defaultCatalog();
  assert.notEqual(again[0], catalog[0]);
  assert.deepEqual(again.length, catalog.length);
  assert.ok(catalog.length >= 30);
  const row = catalogRow({ id: "acme/x:free", context_length: 1000 });
  assert.equal(row.canonical_slug, "acme/x");
  assert.equal(row.top_provider.context_length, 1000);
  assert.deepEqual(row.pricing, { prompt: "0", completion: "0" });
  assert.equal(row.links.details, "/api/v1/models/acme/x/endpoints");
});
