/**
 * Fault injection, bad input: unknown paths, wrong methods, CORS preflights
 * and the /v1 prefix get a clear OpenAI-shaped answer, never a crash.
 */
import assert from "node:assert/strict";
import { parseServerConfig } from "../../src/server/config.ts";
import { serve } from "../../src/server/serve.ts";
import {
  ALIAS_IDS,
  FIRST_MESSAGE,
  hello,
  rig,
  SERVER_KEY,
} from "../_harness.ts";
import {
  FREE_CHAT_IDS_IN_PRIORITY_ORDER as POOL,
  startFakeOpenRouter,
} from "../fake_openrouter/mod.ts";
import {
  assertAnthropicError,
  assertOpenAIError,
  quiet,
  test,
  testNoRejectionLeft,
} from "./_helpers.ts";

test("createHandler() answers 404 in the OpenAI shape when the path is unknown", async () => {
  await using r = rig();
  for (
    const [method, path] of [
      ["POST", "/v1/embeddings"],
      ["POST", "/v2/chat/completions"],
      ["POST", "/v1/chat/completions/extra"],
      ["POST", "/v1/chat"],
      ["GET", "/v1/v1/models"],
      ["GET", "/favicon.ico"],
      ["DELETE", "/nothing/here"],
    ]
  ) {
    const res = await r.request(path!, {
      method,
      body: method === "POST" ? JSON.stringify(hello()) : undefined,
    });
    const error = await assertOpenAIError(res, 404);
    assert.equal(error.type, "not_found_error", path);
  }
  assert.equal(r.fake.chatRequests().length, 0);
});

test("createHandler() answers 405 with Allow in the OpenAI shape when the method is wrong", async () => {
  await using r = rig();
  for (
    const [path, methods, allow] of [
      ["/v1/chat/completions", ["GET", "PUT", "DELETE", "PATCH"], "POST"],
      ["/chat/completions", ["GET"], "POST"],
      ["/v1/models", ["POST", "DELETE"], "GET, HEAD"],
      ["/models", ["PUT"], "GET, HEAD"],
      ["/health", ["POST"], "GET, HEAD"],
      ["/v1/freerouter/status", ["POST"], "GET, HEAD"],
    ] as Array<[string, string[], string]>
  ) {
    for (const method of methods) {
      const res = await r.request(path, {
        method,
        body: ["POST", "PUT", "PATCH"].includes(method) ? "{}" : undefined,
      });
      assert.equal(res.headers.get("allow"), allow, `${method} ${path}`);
      await assertOpenAIError(res, 405);
    }
  }
  assert.equal(r.fake.chatRequests().length, 0);
});

function corsHeaderNames(res: Response): string[] {
  return [...res.headers.keys()].filter((k) => k.startsWith("access-control-"));
}

test("createHandler() without CORS origins refuses a request from another origin's page (403 origin_not_allowed, no attempt, no CORS headers); its own origin and no origin are served", async () => {
  await using r = rig();
  const origin = { origin: "https://app.example" };
  const preflight = await r.request("/v1/chat/completions", {
    method: "OPTIONS",
    headers: {
      ...origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type",
    },
  });
  assert.deepEqual(corsHeaderNames(preflight), []);
  const refused = await assertOpenAIError(preflight, 403);
  assert.equal(refused.code, "origin_not_allowed");
  // A "simple" request (text/plain) needs no preflight: it is refused too.
  for (const type of ["text/plain", "application/json"]) {
    const chat = await r.chat(hello(), {
      headers: { "content-type": type, ...origin },
    });
    assert.deepEqual(corsHeaderNames(chat), []);
    assert.equal(
      (await assertOpenAIError(chat, 403)).code,
      "origin_not_allowed",
    );
  }
  const messages = await r.request("/v1/messages", {
    method: "POST",
    headers: { "content-type": "text/plain", ...origin },
    body: JSON.stringify(FIRST_MESSAGE),
  });
  await assertAnthropicError(messages, 403, "permission_error");
  const models = await r.request("/v1/models", { headers: origin });
  assert.equal(models.status, 403);
  await models.body?.cancel();
  assert.equal(r.fake.chatRequests().length, 0, "no attempt for a refusal");
  // The proxy's own pages (same origin), and clients that send no Origin.
  const own = await r.chat(hello(), {
    headers: {
      "content-type": "application/json",
      origin: "http://freerouter.test",
    },
  });
  assert.equal(own.status, 200);
  await own.body?.cancel();
  const plain = await r.chat(hello());
  assert.equal(plain.status, 200);
  await plain.body?.cancel();
});

test("createHandler() answers preflights and adds CORS headers for listed origins only when CORS origins are set", async () => {
  await using r = rig({ corsOrigins: ["https://app.example"] });
  const preflight = (origin: string) =>
    r.request("/v1/chat/completions", {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    });
  const allowed = await preflight("https://app.example");
  assert.equal(allowed.status, 204);
  assert.equal(
    allowed.headers.get("access-control-allow-origin"),
    "https://app.example",
  );
  assert.match(
    allowed.headers.get("access-control-allow-methods") ?? "",
    /\bPOST\b/,
  );
  const allowHeaders = allowed.headers.get("access-control-allow-headers") ??
    "";
  assert.match(allowHeaders, /authorization/i);
  assert.match(allowHeaders, /content-type/i);
  await allowed.body?.cancel();

  const denied = await preflight("https://evil.example");
  assert.equal(denied.headers.get("access-control-allow-origin"), null);
  assert.equal(
    (await assertOpenAIError(denied, 403)).code,
    "origin_not_allowed",
  );

  const chat = await r.chat(hello(), {
    headers: {
      "content-type": "application/json",
      origin: "https://app.example",
    },
  });
  assert.equal(chat.status, 200);
  assert.equal(
    chat.headers.get("access-control-allow-origin"),
    "https://app.example",
  );
  const exposed = (chat.headers.get("access-control-expose-headers") ?? "")
    .split(/,\s*/);
  for (
    const header of [
      "x-freerouter-model",
      "x-freerouter-attempts",
      "x-freerouter-cache",
      "x-freerouter-dropped-tools",
      "x-request-id",
      "request-id",
      "retry-after",
    ]
  ) assert.ok(exposed.includes(header), `${header} in ${exposed}`);
  await chat.body?.cancel();

  const bad = await r.chat("{nope", {
    headers: {
      "content-type": "application/json",
      origin: "https://app.example",
    },
  });
  assert.equal(
    bad.headers.get("access-control-allow-origin"),
    "https://app.example",
    "a browser can read the error too",
  );
  await assertOpenAIError(bad, 400);

  const foreign = await r.chat(hello(), {
    headers: {
      "content-type": "application/json",
      origin: "https://evil.example",
    },
  });
  assert.equal(foreign.headers.get("access-control-allow-origin"), null);
  assert.equal(
    (await assertOpenAIError(foreign, 403)).code,
    "origin_not_allowed",
  );
});

test("createHandler() allows any origin when CORS origins are *", async () => {
  await using r = rig({ corsOrigins: ["*"] });
  const res = await r.request("/v1/models", {
    method: "OPTIONS",
    headers: {
      origin: "https://anywhere.example",
      "access-control-request-method": "GET",
    },
  });
  assert.equal(res.status, 204);
  assert.equal(res.headers.get("access-control-allow-origin"), "*");
  await res.body?.cancel();
});

test("createHandler() serves a browser extension's origin that FREEROUTER_CORS_ORIGINS lists, and refuses an unlisted one", async () => {
  const listed = "chrome-extension://abcdefghijklmnop";
  await using r = rig({
    corsOrigins: parseServerConfig({ FREEROUTER_CORS_ORIGINS: listed })
      .corsOrigins,
  });
  const ok = await r.chat(hello(), {
    headers: { "content-type": "text/plain", origin: listed },
  });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get("access-control-allow-origin"), listed);
  await ok.body?.cancel();
  const other = await r.chat(hello(), {
    headers: {
      "content-type": "text/plain",
      origin: "chrome-extension://ponmlkjihgfedcba",
    },
  });
  assert.equal(
    (await assertOpenAIError(other, 403)).code,
    "origin_not_allowed",
  );
});

test("createHandler() behind serve() answers preflights only when FREEROUTER_CORS_ORIGINS lists the origin, and refuses them otherwise", async () => {
  await using fake = startFakeOpenRouter();
  const base = {
    OPENROUTER_API_KEY: SERVER_KEY,
    OPENROUTER_BASE_URL: fake.baseUrl,
    PORT: "0",
    FREEROUTER_KV_PATH: ":memory:",
  };
  const preflight = (url: string) =>
    fetch(`${url}/v1/chat/completions`, {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example",
        "access-control-request-method": "POST",
      },
    });
  {
    await using server = await serve(parseServerConfig(base), quiet);
    const res = await preflight(server.url);
    assert.equal(res.headers.get("access-control-allow-origin"), null);
    assert.equal(
      (await assertOpenAIError(res, 403)).code,
      "origin_not_allowed",
    );
  }
  {
    await using server = await serve(
      parseServerConfig({
        ...base,
        FREEROUTER_CORS_ORIGINS: "https://other.example, https://app.example",
      }),
      quiet,
    );
    const res = await preflight(server.url);
    assert.equal(res.status, 204);
    assert.equal(
      res.headers.get("access-control-allow-origin"),
      "https://app.example",
    );
    await res.body?.cancel();
  }
});

test("createHandler() serves the OpenAI endpoints when the path has the /v1 prefix and when it has none", async () => {
  await using r = rig();
  for (const prefix of ["/v1", ""]) {
    for (const stream of [false, true]) {
      const res = await r.request(`${prefix}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(hello("auto", { stream })),
      });
      assert.equal(res.status, 200, `${prefix}/chat/completions ${stream}`);
      assert.match(
        res.headers.get("content-type") ?? "",
        stream ? /^text\/event-stream/ : /^application\/json/,
      );
      await res.body?.cancel();
    }
    const models = await r.request(`${prefix}/models`);
    assert.equal(models.status, 200, `${prefix}/models`);
    const list = await models.json() as { data: Array<{ id: string }> };
    assert.deepEqual(list.data.map((m) => m.id), [...POOL, ...ALIAS_IDS]);
  }
  assert.equal(r.fake.chatRequests().length, 4);
});

testNoRejectionLeft();
