/**
 * Fault injection, bad input: a body that is not JSON, not an object, too
 * deep, of the wrong Content-Type or too large gets a clear OpenAI-shaped
 * error, never a crash.
 */
import assert from "node:assert/strict";
import { concat, deferred, within } from "../_async.ts";
import { parseServerConfig } from "../../src/server/config.ts";
import { serve } from "../../src/server/serve.ts";
import { hello, rig, SERVER_KEY } from "../_harness.ts";
import {
  FREE_CHAT_IDS_IN_PRIORITY_ORDER as POOL,
  startFakeOpenRouter,
} from "../fake_openrouter/mod.ts";
import { serveOnLoopback } from "../_streams.ts";
import {
  assertOpenAIError,
  chatRequest,
  MESSAGES,
  MiB,
  type OpenAIError,
  paddedBody,
  postChat,
  quiet,
  test,
  testNoRejectionLeft,
} from "./_helpers.ts";

const [A] = POOL as [string];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

// ===========================================================================
// Bad input gets a clear OpenAI-shaped error, never a crash

test("createHandler() answers 400 invalid_json in the OpenAI shape when the body is not valid JSON", async () => {
  await using r = rig();
  for (
    const raw of [
      "{not json",
      '{"model":"auto","messages":[',
      '{"messages":[]}}',
      "{'model':'auto'}",
      "nul",
      "\u0000\u0001\u0002",
      "",
      "   \n ",
    ]
  ) {
    const error = await assertOpenAIError(
      await r.chat(raw),
      400,
      "invalid_json",
    );
    assert.equal(error.type, "invalid_request_error");
    assert.match(error.message, /JSON|empty/, JSON.stringify(raw));
  }
  assert.equal(r.fake.chatRequests().length, 0);
  const res = await r.chat(hello());
  assert.equal(res.status, 200, "still serving after bad input");
  await res.body?.cancel();
});

test("createHandler() answers 400 in the OpenAI shape when the JSON is not an object", async () => {
  await using r = rig();
  for (
    const raw of [
      "[]",
      JSON.stringify([hello()]),
      '"hello"',
      "42",
      "null",
      "true",
    ]
  ) {
    const error = await assertOpenAIError(await r.chat(raw), 400);
    assert.equal(error.type, "invalid_request_error");
    assert.match(error.message, /object/, raw);
  }
  assert.equal(r.fake.chatRequests().length, 0);
});

test("createHandler() answers 400 (not a 5xx) when the JSON is nested deeper than it can forward", async () => {
  await using r = rig();
  const depth = 100_000;
  const deep = `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
  const res = await r.chat(
    `{"model":"auto","messages":[{"role":"user","content":${deep}}]}`,
  );
  await assertOpenAIError(res, 400);
  const after = await r.chat(hello());
  assert.equal(after.status, 200, "still serving after bad input");
  await after.body?.cancel();
});

test("createHandler() accepts a JSON body whatever Content-Type it declares, or when there is none", async () => {
  await using r = rig();
  const types: Array<string | null> = [
    null,
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "text/plain",
    "text/plain;charset=UTF-8",
    "application/x-www-form-urlencoded",
    "application/octet-stream",
    "application/vnd.api+json",
    "multipart/form-data; boundary=x",
  ];
  for (const type of types) {
    const headers = new Headers();
    if (type !== null) headers.set("content-type", type);
    const req = chatRequest(encoder.encode(JSON.stringify(hello())), headers);
    assert.equal(req.headers.get("content-type"), type);
    const res = await r.handler(req);
    assert.equal(res.status, 200, `Content-Type ${type}`);
    assert.equal(res.headers.get("x-freerouter-model"), A);
    await res.body?.cancel();
  }
  assert.equal(r.fake.chatRequests().length, types.length);
});

test("createHandler() answers 415 naming JSON when a non-JSON body comes with a non-JSON Content-Type", async () => {
  await using r = rig();
  const cases: Array<[string, BodyInit]> = [
    ["text/html", "<html><body>hello</body></html>"],
    ["application/x-www-form-urlencoded", "model=auto&messages=hello"],
    [
      "multipart/form-data; boundary=XyZ",
      '--XyZ\r\nContent-Disposition: form-data; name="model"\r\n\r\nauto\r\n--XyZ--\r\n',
    ],
    ["application/xml", "<chat><model>auto</model></chat>"],
    ["application/octet-stream", new Uint8Array([0, 255, 16, 128, 7, 0])],
  ];
  for (const [type, body] of cases) {
    const res = await r.handler(chatRequest(body, { "content-type": type }));
    const error = await assertOpenAIError(res, 415);
    assert.match(error.message, /JSON/, type);
  }
  assert.equal(r.fake.chatRequests().length, 0);
});

test("createHandler() answers 400 invalid_json when a non-JSON body comes with a JSON, text/plain or no Content-Type", async () => {
  await using r = rig();
  for (const type of [null, "application/json", "text/plain"]) {
    const headers = new Headers();
    if (type !== null) headers.set("content-type", type);
    const res = await r.handler(
      chatRequest(encoder.encode("model=auto&messages=hello"), headers),
    );
    await assertOpenAIError(res, 400, "invalid_json");
  }
  assert.equal(r.fake.chatRequests().length, 0);
});

for (
  const [name, body, param] of [
    ["messages is missing", { model: "auto" }, "messages"],
    ["messages is null", { messages: null }, "messages"],
    ["messages is empty", { messages: [] }, "messages"],
    ["messages is a string", { messages: "hello" }, "messages"],
    ["messages is an object", {
      messages: { role: "user", content: "hello" },
    }, "messages"],
    ["messages holds a string", { messages: ["hello"] }, "messages.0"],
    ["messages holds null", { messages: [null] }, "messages.0"],
    ["messages holds an array", { messages: [MESSAGES] }, "messages.0"],
    ["messages holds a number after a good message", {
      messages: [...MESSAGES, 5],
    }, "messages.1"],
    ["model is a number", { model: 7, messages: MESSAGES }, "model"],
    ["model is an object", { model: { id: A }, messages: MESSAGES }, "model"],
    ["model is an array", { model: [A], messages: MESSAGES }, "model"],
    ["stream is a string", { stream: "true", messages: MESSAGES }, "stream"],
    ["stream is a number", { stream: 1, messages: MESSAGES }, "stream"],
  ] as Array<[string, unknown, string]>
) {
  test(`createHandler() answers 400 with param ${param} when ${name}`, async () => {
    await using r = rig();
    const error = await assertOpenAIError(await r.chat(body), 400);
    assert.equal(error.type, "invalid_request_error");
    assert.equal(error.param, param);
    assert.match(error.message, new RegExp(param.split(".")[0]!));
    assert.equal(r.fake.chatRequests().length, 0);
  });
}

/** Reads one HTTP/1.1 response from a raw connection (headers and a Content-Length body). */
async function readHttpResponse(
  conn: Deno.Conn,
): Promise<{ status: number; headers: Headers; body: string }> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(64 * 1024);
  for (;;) {
    const text = decoder.decode(concat(chunks));
    const end = text.indexOf("\r\n\r\n");
    if (end !== -1) {
      const [statusLine, ...fields] = text.slice(0, end).split("\r\n");
      const headers = new Headers();
      for (const field of fields) {
        const colon = field.indexOf(":");
        headers.append(field.slice(0, colon), field.slice(colon + 1).trim());
      }
      const length = Number(headers.get("content-length") ?? NaN);
      const body = text.slice(end + 4);
      if (Number.isFinite(length) && encoder.encode(body).length >= length) {
        const status = Number(statusLine!.split(" ")[1]);
        return { status, headers, body };
      }
    }
    const n = await conn.read(buf);
    if (n === null) throw new Error(`connection closed after: ${text}`);
    chunks.push(buf.slice(0, n));
  }
}

test("createHandler() answers 413 before the body is sent when Content-Length is over the default 10 MiB", async () => {
  await using r = rig();
  const { server, url } = serveOnLoopback(r.handler);
  try {
    const { port } = new URL(url);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: +port });
    try {
      const head = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
        `Content-Type: application/json\r\nContent-Length: ${
          10 * MiB + 1
        }\r\n\r\n`;
      // Only the head and the first bytes: the rest is never sent.
      const start = encoder.encode(`${head}{"model":"auto","messages":[`);
      for (let written = 0; written < start.length;) {
        written += await conn.write(start.subarray(written));
      }
      const res = await within(
        readHttpResponse(conn),
        "a 413 while most of the body is still unsent",
      );
      assert.equal(res.status, 413, res.body);
      const error = (JSON.parse(res.body) as { error: OpenAIError }).error;
      assert.equal(error.type, "invalid_request_error");
      assert.match(error.message, /10485760|FREEROUTER_MAX_BODY_BYTES/);
    } finally {
      conn.close();
    }
  } finally {
    await server.shutdown();
  }
  assert.equal(r.fake.chatRequests().length, 0);
});

test("createHandler() accepts exactly 10 MiB and answers 413 to one byte more when maxBodyBytes is left at its default", async () => {
  await using r = rig();
  const exact = await r.handler(chatRequest(paddedBody(10 * MiB)));
  assert.equal(exact.status, 200);
  await exact.body?.cancel();
  const over = await r.handler(chatRequest(paddedBody(10 * MiB + 1)));
  await assertOpenAIError(over, 413);
  assert.equal(r.fake.chatRequests().length, 1);
});

test("createHandler() answers 413 to maxBodyBytes + 1 when the size is declared and when it is not", async () => {
  await using r = rig({ maxBodyBytes: 4096 });
  const exact = paddedBody(4096);
  const over = paddedBody(4097);
  for (const declared of [false, true]) {
    const headers = (body: Uint8Array): HeadersInit => ({
      "content-type": "application/json",
      ...(declared ? { "content-length": String(body.length) } : {}),
    });
    const fits = await r.handler(chatRequest(exact, headers(exact)));
    assert.equal(fits.status, 200, `declared: ${declared}`);
    await fits.body?.cancel();
    const error = await assertOpenAIError(
      await r.handler(chatRequest(over, headers(over))),
      413,
    );
    assert.match(error.message, /4096/);
  }
  assert.equal(r.fake.chatRequests().length, 2);
});

test("createHandler() answers 413 without reading the rest when a body of unknown length never ends", async () => {
  await using r = rig({ maxBodyBytes: 64 * 1024 });
  const piece = 16 * 1024;
  let pulled = 0;
  const cancelled = deferred();
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled += piece;
      controller.enqueue(new Uint8Array(piece).fill(0x20));
    },
    cancel() {
      cancelled.resolve();
    },
  }, { highWaterMark: 0 });
  const res = await within(
    r.handler(chatRequest(endless)),
    "an answer to an endless body",
  );
  await assertOpenAIError(res, 413);
  await within(cancelled.promise, "the request body cancelled");
  assert.ok(pulled <= 64 * 1024 + 4 * piece, `read ${pulled} bytes`);
});

test("createHandler() behind serve() caps bodies at FREEROUTER_MAX_BODY_BYTES when it is set", async () => {
  await using fake = startFakeOpenRouter();
  const config = parseServerConfig({
    OPENROUTER_API_KEY: SERVER_KEY,
    OPENROUTER_BASE_URL: fake.baseUrl,
    PORT: "0",
    FREEROUTER_KV_PATH: ":memory:",
    FREEROUTER_MAX_BODY_BYTES: "2048",
  });
  await using server = await serve(config, quiet);
  const fits = await postChat(server.url, decoder.decode(paddedBody(2048)));
  assert.equal(fits.status, 200);
  await fits.body?.cancel();
  const error = await assertOpenAIError(
    await postChat(server.url, decoder.decode(paddedBody(2049))),
    413,
  );
  assert.match(error.message, /2048/);
  assert.equal(fake.chatRequests().length, 1);
});

testNoRejectionLeft();
