/**
 * Fault injection, security: key comparison, the access key, keys kept out
 * of logs, errors and headers, the open-relay refusal, hop-by-hop headers,
 * and which key goes upstream.
 */
import assert from "node:assert/strict";
import { runToEnd, startMain } from "../_deno_process.ts";
import { timingSafeEqual } from "../../src/http/auth.ts";
import {
  checkExposure,
  ConfigError,
  parseServerConfig,
} from "../../src/server/config.ts";
import { serve } from "../../src/server/serve.ts";
import { hello, rig, SERVER_KEY } from "../_harness.ts";
import {
  errorStatus,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER as POOL,
  startFakeOpenRouter,
  userNotFound401,
} from "../fake_openrouter/mod.ts";
import { within } from "../_async.ts";
import { fullStream } from "../_streams.ts";
import {
  assertOpenAIError,
  captureLog,
  paddedBody,
  postChat,
  quiet,
  test,
  testNoRejectionLeft,
  transcript,
  withTempDir,
} from "./_helpers.ts";

const [A, B, C] = POOL as [string, string, string];
const decoder = new TextDecoder();

// ===========================================================================
// Security

test("createHandler() key comparison (timingSafeEqual) is right when keys are equal, different, shorter or longer", () => {
  const key = "fr-access-0123456789abcdef";
  assert.equal(timingSafeEqual(key, key), true);
  assert.equal(timingSafeEqual(`${key}`, key.slice()), true);
  for (
    const other of [
      "",
      key.slice(0, -1),
      `${key}0`,
      `X${key.slice(1)}`,
      `${key.slice(0, -1)}X`,
      key.toUpperCase(),
      `${key}\u0000`,
      "fr-access-0123456789abcdeé",
    ]
  ) {
    assert.equal(timingSafeEqual(other, key), false, JSON.stringify(other));
    assert.equal(timingSafeEqual(key, other), false, JSON.stringify(other));
  }
  assert.equal(timingSafeEqual("", ""), true);
  return Promise.resolve();
});

/**
 * Every byte `timingSafeEqual` reads, in order, for `a` then `b`, recorded by
 * wrapping what `TextEncoder#encode` returns (the comparator encodes both
 * keys and compares the bytes) in a proxy that notes each indexed read.
 */
function byteReads(a: string, b: string): { equal: boolean; reads: string[] } {
  const reads: string[] = [];
  const encode = TextEncoder.prototype.encode;
  let side = 0;
  TextEncoder.prototype.encode = function (this: TextEncoder, input) {
    const bytes = encode.call(this, input);
    const name = side++ === 0 ? "a" : "b";
    return new Proxy(bytes, {
      get(target, prop) {
        if (typeof prop === "string" && /^\d+$/.test(prop)) {
          reads.push(`${name}[${prop}]`);
        }
        return Reflect.get(target, prop);
      },
    });
  };
  try {
    return { equal: timingSafeEqual(a, b), reads };
  } finally {
    TextEncoder.prototype.encode = encode;
  }
}

test("createHandler() key comparison (timingSafeEqual) reads every byte of both keys, in the same order, wherever they first differ", () => {
  const key = "fr-access-0123456789abcdef-0123456789abcdef";
  const n = key.length;
  const at = (i: number) => `${key.slice(0, i)}X${key.slice(i + 1)}`;
  const every = [...Array(n).keys()];
  const same = byteReads(key, key);
  assert.equal(same.equal, true);
  // The comparison reads both keys through the encoder: the recording works.
  assert.deepEqual(
    new Set(same.reads),
    new Set(every.flatMap((i) => [`a[${i}]`, `b[${i}]`])),
    "every byte of both keys is read",
  );
  for (
    const [what, other] of [
      ["the first byte", at(0)],
      ["the second byte", at(1)],
      ["a middle byte", at(n >> 1)],
      ["the last byte", at(n - 1)],
      ["every byte", "X".repeat(n)],
    ] as const
  ) {
    const differs = byteReads(other, key);
    assert.equal(differs.equal, false, what);
    assert.deepEqual(
      differs.reads,
      same.reads,
      `keys differing in ${what} are read exactly like equal keys`,
    );
  }
  // Keys of another length: false, and the reads depend only on the lengths.
  for (const other of ["", "short", `${key}0`, key.slice(0, -1)]) {
    assert.equal(byteReads(other, key).equal, false, JSON.stringify(other));
    assert.deepEqual(
      byteReads(other, key).reads,
      byteReads("X".repeat(other.length), key).reads,
      `reads for a ${other.length}-byte key depend only on its length`,
    );
  }
  return Promise.resolve();
});

test("createHandler() accepts only the exact access key when one is set", async () => {
  const key = "fr-access-0123456789abcdef";
  await using r = rig({ accessKey: key });
  for (
    const auth of [
      undefined,
      "",
      "Bearer",
      "Bearer ",
      `Bearer ${key.slice(0, -1)}`,
      `Bearer ${key}0`,
      `Bearer ${key.toUpperCase()}`,
      `Basic ${btoa(`user:${key}`)}`,
      key,
    ]
  ) {
    const headers: Record<string, string> = {
      "content-type": "application/json",
    };
    if (auth !== undefined) headers.authorization = auth;
    const res = await r.chat(hello(), { headers });
    const error = await assertOpenAIError(res, 401);
    assert.ok(!error.message.includes(key));
  }
  const res = await r.chat(hello(), {
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${key}`,
    },
  });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  assert.equal(r.fake.chatRequests().length, 1);
});

const UPSTREAM_SECRET = "sk-or-v1-LEAKCHECK-upstream-7f3a9c2e5b1d4068";
const ACCESS_SECRET = "fr-LEAKCHECK-access-c81e7a44d09b2f35";
/** Distinctive parts too, in case a key is printed cut or masked. */
const SECRET_PATTERN = /7f3a9c2e5b1d4068|c81e7a44d09b2f35|LEAKCHECK/;

test("createHandler() puts neither key in a log line, an error message or a response header when it answers, fails, refuses or logs warnings", async () => {
  const log = captureLog();
  await using r = rig({
    apiKey: UPSTREAM_SECRET,
    accessKey: ACCESS_SECRET,
    logger: log,
    maxAttempts: 2,
    modelRefreshTtl: 60,
    maxBodyBytes: 4096,
    corsOrigins: ["https://app.example"],
  });
  const auth = {
    "content-type": "application/json",
    authorization: `Bearer ${ACCESS_SECRET}`,
    origin: "https://app.example",
  };
  const texts: string[] = [];
  const keep = async (res: Response | Promise<Response>) =>
    void texts.push(await transcript(await res));

  await keep(r.chat(hello()));
  await keep(r.chat(hello(), {
    headers: { "content-type": "application/json", authorization: "Bearer x" },
  }));
  await keep(r.chat(hello(), { headers: auth }));
  await keep(r.chat(hello("auto", { stream: true }), { headers: auth }));
  r.fake.script(A, errorStatus(429));
  await keep(r.chat(hello(), { headers: auth })); // fallback to B
  r.fake.script(B, errorStatus(503));
  r.fake.script(C, errorStatus(503));
  await keep(r.chat(hello(), { headers: auth })); // 502, both failed
  r.fake.script(B, userNotFound401());
  await keep(r.chat(hello(), { headers: auth })); // upstream refusal
  r.fake.script(B, {
    stream: { parts: fullStream(B).slice(0, 2), end: "reset" },
  });
  await keep(r.chat(hello("auto", { stream: true }), { headers: auth }));
  await keep(r.chat("{bad json", { headers: auth }));
  await keep(r.chat(decoder.decode(paddedBody(5000)), { headers: auth }));
  await keep(r.request("/v1/nope", { headers: auth }));
  await keep(r.request("/v1/chat/completions", { headers: auth }));
  await keep(r.request("/v1/chat/completions", {
    method: "OPTIONS",
    headers: { ...auth, "access-control-request-method": "POST" },
  }));
  for (const path of ["/v1/models", "/v1/freerouter/status", "/metrics"]) {
    await keep(r.request(path, { headers: auth }));
    await keep(r.request(path));
  }
  await keep(r.request("/health"));
  await keep(r.request("/"));
  r.fake.scriptModels({ status: 500, body: "down" });
  r.clock.advance(61_000);
  await keep(r.chat(hello(), { headers: auth }));
  // The background refresh fails on its own (closing would end it first).
  await within(
    log.waitFor(/^warn Catalog refresh failed/, 1),
    "the refresh failed",
  );
  await r.handler.close();

  const statuses = texts.map((t) => Number(t.slice(0, 3)));
  for (const expected of [200, 400, 401, 404, 405, 413, 502]) {
    assert.ok(statuses.includes(expected), `a ${expected} was checked`);
  }
  assert.match(log.text(), /Catalog refresh failed/, "the warning was logged");
  assert.ok(log.lines.length >= 10, log.text());
  for (const text of [...texts, log.text()]) {
    assert.ok(!text.includes(UPSTREAM_SECRET), text.slice(0, 500));
    assert.ok(!text.includes(ACCESS_SECRET), text.slice(0, 500));
    assert.doesNotMatch(text, SECRET_PATTERN, text.slice(0, 500));
  }
});

for (const format of ["json", "pretty"]) {
  test(`createHandler() behind src/server/main.ts never prints or answers either key when LOG_FORMAT=${format} and LOG_LEVEL=debug`, async () => {
    await using fake = startFakeOpenRouter();
    const main = await startMain({
      OPENROUTER_API_KEY: UPSTREAM_SECRET,
      FREEROUTER_API_KEY: ACCESS_SECRET,
      OPENROUTER_BASE_URL: fake.baseUrl,
      FREEROUTER_KV_PATH: ":memory:",
      FREEROUTER_RPM: "0",
      FREEROUTER_MAX_BODY_BYTES: "2048",
      MAX_ATTEMPTS: "2",
      LOG_FORMAT: format,
      LOG_LEVEL: "debug",
    });
    const texts: string[] = [];
    let stderr: string;
    try {
      const auth = { authorization: `Bearer ${ACCESS_SECRET}` };
      const keep = async (res: Promise<Response>) =>
        void texts.push(await transcript(await res));
      await keep(postChat(main.url, hello()));
      await keep(postChat(main.url, hello(), { authorization: "Bearer nope" }));
      await keep(postChat(main.url, hello(), auth));
      await keep(postChat(main.url, hello("auto", { stream: true }), auth));
      fake.script(A, errorStatus(429));
      await keep(postChat(main.url, hello(), auth));
      fake.script(B, errorStatus(503));
      fake.script(C, errorStatus(503));
      await keep(postChat(main.url, hello(), auth));
      fake.script(B, userNotFound401());
      await keep(postChat(main.url, hello(), auth));
      await keep(postChat(main.url, "{bad", auth));
      await keep(postChat(main.url, decoder.decode(paddedBody(3000)), auth));
      for (const path of ["/v1/models", "/v1/freerouter/status", "/metrics"]) {
        await keep(fetch(`${main.url}${path}`, { headers: auth }));
        await keep(fetch(`${main.url}${path}`));
      }
      await keep(fetch(`${main.url}/health`));
      await keep(fetch(`${main.url}/nope`, { headers: auth }));
    } finally {
      assert.equal((await main.stop()).code, 0);
      stderr = main.stderr();
    }
    const statuses = texts.map((t) => Number(t.slice(0, 3)));
    for (const expected of [200, 400, 401, 404, 413, 502]) {
      assert.ok(statuses.includes(expected), `a ${expected} was checked`);
    }
    assert.match(stderr, /chat\/completions/, "requests were logged");
    for (const text of [...texts, stderr]) {
      assert.ok(!text.includes(UPSTREAM_SECRET), text.slice(0, 500));
      assert.ok(!text.includes(ACCESS_SECRET), text.slice(0, 500));
      assert.doesNotMatch(text, SECRET_PATTERN, text.slice(0, 500));
    }
  });
}

test("createHandler() behind serve() refuses to start when HOST is not loopback and neither FREEROUTER_API_KEY nor FREEROUTER_ALLOW_OPEN=1 is set", () => {
  const config = (env: Record<string, string>) =>
    parseServerConfig({ FREEROUTER_KV_PATH: ":memory:", ...env });
  for (const host of ["0.0.0.0", "::", "[::]", "192.168.1.20", "example.com"]) {
    assert.throws(
      () => checkExposure(config({ HOST: host })),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.ok(err.message.includes(host), err.message);
        assert.match(err.message, /FREEROUTER_API_KEY/);
        assert.match(err.message, /FREEROUTER_ALLOW_OPEN=1/);
        assert.match(err.message, /anyone/);
        return true;
      },
      host,
    );
    checkExposure(
      config({ HOST: host, FREEROUTER_API_KEY: "fr-test-key-1234" }),
    );
    checkExposure(config({ HOST: host, FREEROUTER_ALLOW_OPEN: "1" }));
  }
  for (const host of ["127.0.0.1", "127.0.0.53", "localhost", "::1", "[::1]"]) {
    checkExposure(config({ HOST: host }));
  }
  return Promise.resolve();
});

test("createHandler() behind serve() neither binds nor opens KV when it refuses an open relay", async () => {
  await withTempDir(async (dir) => {
    const config = parseServerConfig({
      HOST: "0.0.0.0",
      PORT: "0",
      OPENROUTER_API_KEY: "sk-or-v1-someone",
      FREEROUTER_KV_PATH: `${dir}/kv.sqlite`,
    });
    await assert.rejects(serve(config, quiet), ConfigError);
    const written: string[] = [];
    for await (const entry of Deno.readDir(dir)) written.push(entry.name);
    assert.deepEqual(written, [], "KV not opened");
  });
});

test("createHandler() behind serve() starts on a non-loopback HOST when FREEROUTER_API_KEY is set or FREEROUTER_ALLOW_OPEN=1", async () => {
  for (
    const extra of [{ FREEROUTER_API_KEY: "fr-test-key-1234" }, {
      FREEROUTER_ALLOW_OPEN: "1",
    }]
  ) {
    const config = parseServerConfig({
      HOST: "0.0.0.0",
      PORT: "0",
      FREEROUTER_KV_PATH: ":memory:",
      OPENROUTER_BASE_URL: "http://127.0.0.1:9/api/v1",
      ...extra,
    });
    await using server = await serve(config, quiet);
    const port = new URL(server.url).port;
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
  }
});

test("createHandler() behind src/server/main.ts exits 2 explaining the open relay when HOST=0.0.0.0 has no FREEROUTER_API_KEY", async () => {
  const { code, stderr } = await runToEnd({
    HOST: "0.0.0.0",
    PORT: "0",
    OPENROUTER_API_KEY: UPSTREAM_SECRET,
    FREEROUTER_KV_PATH: ":memory:",
  });
  assert.equal(code, 2);
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0]!, /^freerouter: Refusing to listen on 0\.0\.0\.0/);
  assert.match(lines[0]!, /FREEROUTER_API_KEY/);
  assert.match(lines[0]!, /FREEROUTER_ALLOW_OPEN=1/);
  assert.match(lines[0]!, /OpenRouter key/);
  assert.doesNotMatch(stderr, /listening on/);
  assert.doesNotMatch(stderr, SECRET_PATTERN);
});

/** Upstream headers no proxy may pass on. */
const HOSTILE_HEADERS: Record<string, string> = {
  "set-cookie": "session=upstream; Path=/; HttpOnly",
  "set-cookie2": "legacy=1",
  connection: "keep-alive, x-hop-nominated",
  "x-hop-nominated": "named in Connection, so hop-by-hop",
  "keep-alive": "timeout=5, max=100",
  "proxy-authenticate": 'Basic realm="upstream"',
  "proxy-authorization": "Basic dXBzdHJlYW06c2VjcmV0",
  "proxy-connection": "keep-alive",
  te: "trailers",
  trailer: "x-checksum",
  "transfer-encoding": "chunked",
  upgrade: "h2c",
};

/** A fetch that adds the hostile headers (and rate-limit ones) to every chat answer. */
function hostileFetch(): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    const url = input instanceof Request ? input.url : String(input);
    if (!url.endsWith("/chat/completions")) return res;
    const headers = new Headers(res.headers);
    for (const [k, v] of Object.entries(HOSTILE_HEADERS)) headers.set(k, v);
    headers.append("set-cookie", "second=2");
    headers.set("x-ratelimit-limit", "20");
    headers.set("x-ratelimit-remaining", "19");
    return new Response(res.body, {
      status: res.status,
      statusText: res.statusText,
      headers,
    });
  };
}

function assertFiltered(res: Response, what: string): void {
  for (const name of Object.keys(HOSTILE_HEADERS)) {
    assert.equal(res.headers.get(name), null, `${what}: ${name}`);
  }
  assert.deepEqual(res.headers.getSetCookie(), [], `${what}: set-cookie`);
}

test("createHandler() passes on no set-cookie and no hop-by-hop header from the upstream when it answers, streams, refuses or fails", async () => {
  await using r = rig({ fetch: hostileFetch(), maxAttempts: 2 });
  const cases: Array<[string, () => void, unknown, number]> = [
    ["an answer", () => {}, hello(), 200],
    ["a stream", () => {}, hello("auto", { stream: true }), 200],
    ["a fallback", () => r.fake.script(A, errorStatus(429)), hello(), 200],
    [
      "a refusal",
      () => r.fake.script(B, errorStatus(400, "bad")),
      hello(),
      400,
    ],
    [
      "a failure",
      () => {
        r.fake.script(B, errorStatus(503));
        r.fake.script(C, errorStatus(503));
      },
      hello(),
      502,
    ],
  ];
  for (const [what, setup, body, status] of cases) {
    setup();
    const res = await r.chat(body);
    assert.equal(res.status, status, what);
    assertFiltered(res, what);
    await res.body?.cancel();
  }
});

test("createHandler() never sends the client's access key upstream, and sends the client's own key only when the server has none", async () => {
  const access = "fr-access-never-upstream-1e9d";
  const clientKey = "sk-or-v1-client-own-key-77aa";
  const everything = (
    fake: { requests: readonly { headers: Headers; body: unknown }[] },
  ) =>
    fake.requests.map((q) =>
      `${[...q.headers].map(([k, v]) => `${k}: ${v}`).join("\n")}\n${
        JSON.stringify(q.body)
      }`
    ).join("\n");
  {
    // Server key and access key: the upstream sees the server key only.
    await using r = rig({ accessKey: access });
    const headers = {
      "content-type": "application/json",
      authorization: `Bearer ${access}`,
    };
    for (const stream of [false, true]) {
      const res = await r.chat(hello("auto", { stream }), { headers });
      assert.equal(res.status, 200);
      await res.body?.cancel();
    }
    await (await r.request("/v1/models", { headers })).body?.cancel();
    assert.ok(!everything(r.fake).includes(access));
    for (const q of r.fake.requests) {
      assert.equal(q.headers.get("authorization"), `Bearer ${SERVER_KEY}`);
    }
  }
  {
    // Server key, client sends its own: bring-your-own-key does not apply.
    await using r = rig();
    const res = await r.chat(hello(), {
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${clientKey}`,
      },
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    assert.ok(!everything(r.fake).includes(clientKey));
  }
  {
    // No server key, no access key: the client's own key is used.
    await using r = rig({ apiKey: undefined });
    const res = await r.chat(hello(), {
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${clientKey}`,
      },
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    assert.equal(
      r.fake.chatRequests()[0]!.headers.get("authorization"),
      `Bearer ${clientKey}`,
    );
  }
  {
    // No server key but an access key: no key goes upstream at all.
    await using r = rig({ apiKey: undefined, accessKey: access });
    const headers = {
      "content-type": "application/json",
      authorization: `Bearer ${access}`,
    };
    await assertOpenAIError(
      await r.chat(hello(), { headers }),
      401,
      "missing_api_key",
    );
    await (await r.request("/v1/models", { headers })).body?.cancel();
    assert.equal(r.fake.chatRequests().length, 0);
    assert.ok(!everything(r.fake).includes(access));
  }
});

testNoRejectionLeft();
