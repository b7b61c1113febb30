/**
 * Fault injection (issue 6): bad client input, upstream faults, state faults
 * and the security properties, each shown against the fake OpenRouter, an
 * injected `fetch`, a real socket or the src/server/main.ts process.
 *
 * Every test also checks that no promise rejection was left unhandled.
 * Ordering is shown with gates in the fake, never with sleeps; `within()` only
 * turns a would-be hang into a failure.
 */
import assert from "node:assert/strict";
import { concat, deferred, within } from "./_async.ts";
import { runToEnd, startMain } from "./_deno_process.ts";
import { timingSafeEqual } from "../src/http/auth.ts";
import {
  checkExposure,
  ConfigError,
  parseServerConfig,
} from "../src/server/config.ts";
import { serve } from "../src/server/serve.ts";
import type { Logger } from "../src/options.ts";
import { hello, rig, SERVER_KEY } from "./_harness.ts";
import {
  catalogRow,
  chunk,
  completionBody,
  DONE,
  errorStatus,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER as POOL,
  type GenerationMeta,
  modelRpm,
  overloadedIn200,
  startFakeOpenRouter,
  type Step,
  usageChunk,
  userNotFound401,
} from "./fake_openrouter.ts";

const [A, B, C] = POOL as [string, string, string];
const MiB = 1024 * 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CHAT_URL = "http://freerouter.test/v1/chat/completions";
const MESSAGES = [{ role: "user", content: "Hello" }];

// ---------------------------------------------------------------------------
// Unhandled rejections: recorded for the whole file, asserted after each test.
// (Deno's test runner also fails on them; the record names the reason.)

const unhandledRejections: string[] = [];
globalThis.addEventListener("unhandledrejection", (event) => {
  const reason = event.reason;
  unhandledRejections.push(
    reason instanceof Error ? reason.stack ?? reason.message : String(reason),
  );
});

/** `Deno.test` that also fails on a promise rejection left unhandled. */
function test(name: string, fn: () => Promise<void>): void {
  Deno.test(name, async () => {
    const before = unhandledRejections.length;
    await fn();
    // One macrotask turn, so that a rejection left unhandled is reported now.
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.deepEqual(
      unhandledRejections.slice(before),
      [],
      "no unhandled promise rejection",
    );
  });
}

// ---------------------------------------------------------------------------
// Helpers

const quiet: Logger = { info() {}, warn() {} };

/** A logger that keeps every line, fields included, for grepping. */
interface CapturedLog extends Logger {
  readonly lines: string[];
  text(): string;
}

function captureLog(): CapturedLog {
  const lines: string[] = [];
  const push =
    (level: string) => (message: string, fields?: Record<string, unknown>) =>
      void lines.push(
        `${level} ${message}${fields ? ` ${JSON.stringify(fields)}` : ""}`,
      );
  return {
    lines,
    info: push("info"),
    warn: push("warn"),
    text: () => lines.join("\n"),
  };
}

interface OpenAIError {
  message: string;
  type: string;
  param: string | null;
  code: string | number | null;
}

/** Asserts the status and the OpenAI error envelope; returns the error. */
async function assertOpenAIError(
  res: Response,
  status: number,
  code?: string,
): Promise<OpenAIError> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json\b/);
  const body = JSON.parse(text) as { error: OpenAIError };
  assert.deepEqual(Object.keys(body), ["error"], text);
  assert.deepEqual(Object.keys(body.error).sort(), [
    "code",
    "message",
    "param",
    "type",
  ]);
  assert.equal(typeof body.error.message, "string");
  assert.notEqual(body.error.message.trim(), "");
  assert.equal(typeof body.error.type, "string");
  if (code !== undefined) assert.equal(body.error.code, code);
  return body.error;
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    bytes as Uint8Array<ArrayBuffer>,
  );
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** Reads a body to its end with a reader (rejects if the body errors). */
async function readRest(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  chunks: Uint8Array[] = [],
): Promise<Uint8Array> {
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
  }
  return concat(chunks);
}

/** A POST to the chat route with raw bytes or text and the given headers. */
function chatRequest(
  body: BodyInit,
  headers: HeadersInit = { "content-type": "application/json" },
  init: RequestInit = {},
): Request {
  return new Request(CHAT_URL, { method: "POST", headers, body, ...init });
}

/** A JSON chat body padded with trailing spaces to exactly `size` bytes. */
function paddedBody(size: number, extra: Record<string, unknown> = {}) {
  const json = JSON.stringify(hello("auto", extra));
  assert.ok(json.length <= size);
  return encoder.encode(json + " ".repeat(size - json.length));
}

/** A base URL on a loopback port that was bound and closed: connection refused. */
function closedBaseUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return `http://127.0.0.1:${port}/api/v1`;
}

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "freerouter-fault-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Serves a handler on a real loopback port. */
function serveOnLoopback(handler: (req: Request) => Promise<Response>) {
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    handler,
  );
  return { server, url: `http://127.0.0.1:${server.addr.port}` };
}

/** Every response header and the body, as one text to grep. */
async function transcript(res: Response): Promise<string> {
  const head = [...res.headers].map(([k, v]) => `${k}: ${v}`).join("\n");
  let body: string;
  try {
    body = await res.text();
  } catch (err) {
    body = `<body error: ${err}>`;
  }
  return `${res.status}\n${head}\n\n${body}`;
}

function meta(n: number): Required<GenerationMeta> {
  return {
    id: `gen-1764000000-FAULTTEST0000000000${n}`,
    created: 1764000000 + n,
    provider: "Chutes",
  };
}

/** A complete, well-formed stream for a model with fixed bytes. */
function fullStream(model: string, n = 0): string[] {
  const m = meta(n);
  return [
    chunk(model, { role: "assistant", content: "" }, null, m),
    chunk(model, "Hel", null, m),
    chunk(model, "lo", null, m),
    chunk(model, { content: "" }, "stop", m),
    usageChunk(model, m),
    DONE,
  ];
}

/** Deterministic text of exactly `length` characters, different at every offset. */
function bigText(length: number, seed = 0): string {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < length; i++) {
    const part = `${seed}:${i.toString(36)} `;
    parts.push(part);
    size += part.length;
  }
  return parts.join("").slice(0, length);
}

// ---------------------------------------------------------------------------
// The src/server/main.ts process

function postChat(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

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
      ["GET", "/v1/models/qwen/qwen3-coder:free"],
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

test("createHandler() answers OPTIONS with 405 and sends no CORS headers when no CORS origins are set", async () => {
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
  assert.equal(preflight.headers.get("allow"), "POST");
  await assertOpenAIError(preflight, 405);
  const chat = await r.chat(hello(), {
    headers: { "content-type": "application/json", ...origin },
  });
  assert.equal(chat.status, 200);
  assert.deepEqual(corsHeaderNames(chat), []);
  await chat.body?.cancel();
  const models = await r.request("/v1/models", { headers: origin });
  assert.deepEqual(corsHeaderNames(models), []);
  await models.body?.cancel();
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
  assert.ok(denied.status >= 400, `status ${denied.status}`);
  assert.equal(denied.headers.get("access-control-allow-origin"), null);
  await denied.body?.cancel();

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
  assert.match(
    chat.headers.get("access-control-expose-headers") ?? "",
    /x-freerouter-model/i,
  );
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
  await foreign.body?.cancel();
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

test("createHandler() behind serve() answers preflights only when FREEROUTER_CORS_ORIGINS is set", async () => {
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
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("access-control-allow-origin"), null);
    await res.body?.cancel();
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
    assert.deepEqual(list.data.map((m) => m.id), POOL);
  }
  assert.equal(r.fake.chatRequests().length, 4);
});

// ===========================================================================
// Upstream faults are survived

/** A fetch that sends chat attempts for `refused` models to a closed port. */
function refusingFetch(refused: ReadonlySet<string>): typeof fetch {
  const closed = closedBaseUrl();
  return (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (url.endsWith("/chat/completions") && typeof init?.body === "string") {
      const model = (JSON.parse(init.body) as { model?: string }).model;
      if (model !== undefined && refused.has(model)) {
        return fetch(`${closed}/chat/completions`, init);
      }
    }
    return fetch(input, init);
  };
}

for (const stream of [false, true]) {
  test(`createHandler() falls back to the next model when an attempt's connection is refused (stream: ${stream})`, async () => {
    await using r = rig({ fetch: refusingFetch(new Set([A])) });
    const res = await r.chat(hello("auto", { stream }));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-freerouter-model"), B);
    assert.equal(res.headers.get("x-freerouter-attempts"), "2");
    const text = await res.text();
    if (stream) assert.ok(text.endsWith(DONE));
    else assert.equal((JSON.parse(text) as { model: string }).model, B);
    assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [B]);
  });
}

test("createHandler() answers 502 in the OpenAI shape after MAX_ATTEMPTS when every connection is refused after a restart", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/kv.sqlite`;
    await using fake = startFakeOpenRouter();
    {
      using kv = await Deno.openKv(path);
      await using first = rig({ fake, kv });
      await (await first.chat(hello())).body?.cancel();
    }
    // OpenRouter is gone entirely: the catalog comes from KV.
    const log = captureLog();
    using kv = await Deno.openKv(path);
    await using second = rig({
      fake,
      kv,
      baseUrl: closedBaseUrl(),
      maxAttempts: 3,
      logger: log,
    });
    for (const stream of [false, true]) {
      const res = await second.chat(hello("auto", { stream }));
      assert.equal(res.headers.get("x-freerouter-attempts"), "3");
      const error = await assertOpenAIError(
        res,
        502,
        "all_candidates_failed",
      );
      assert.equal(error.message.match(/network error/g)?.length, 3);
    }
    const models = await second.request("/v1/models");
    assert.equal(models.status, 200);
    const list = await models.json() as { data: Array<{ id: string }> };
    assert.deepEqual(list.data.map((m) => m.id), POOL);
    assert.doesNotMatch(log.text(), /Unexpected error/);
    assert.equal(fake.chatRequests().length, 1, "only the first run's");
  });
});

for (const stream of [false, true]) {
  test(`createHandler() falls back to the next model when the connection resets before the response head (stream: ${stream})`, async () => {
    await using r = rig();
    r.fake.script(A, { reset: true });
    const res = await r.chat(hello("auto", { stream }));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-freerouter-model"), B);
    await res.body?.cancel();
  });
}

test("createHandler() falls back to the next model when the connection resets in the middle of a non-streamed body", async () => {
  await using r = rig();
  const body = JSON.stringify(completionBody(A, "this answer is cut off"));
  r.fake.script(A, {
    stream: {
      headers: { "content-type": "application/json" },
      parts: [body.slice(0, body.length / 2)],
      end: "reset",
    },
  });
  const res = await r.chat(hello());
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-freerouter-model"), B);
  const json = await res.json() as { model: string };
  assert.equal(json.model, B);
  assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [A, B]);
});

/** Asserts the stream forwarded `events`, then one OpenAI error event, and no [DONE]. */
function assertBrokenOff(text: string, events: string[]): void {
  assert.ok(text.startsWith(events.join("")), text.slice(0, 300));
  const rest = text.slice(events.join("").length);
  assert.match(rest, /^data: \{"error":\{/);
  assert.ok(rest.endsWith("\n\n"));
  const error = JSON.parse(rest.slice("data: ".length)) as {
    error: OpenAIError;
  };
  assert.equal(typeof error.error.message, "string");
  assert.doesNotMatch(text, /^data: ?\[DONE\]/m, "no [DONE]");
}

test("createHandler() ends a stream with an error event and no [DONE] when the connection resets after the first events", async () => {
  await using r = rig();
  const events = fullStream(A).slice(0, 2);
  const delivered = deferred();
  // The reset comes only once the client has the first events.
  r.fake.script(A, {
    stream: { parts: [...events, () => delivered.promise], end: "reset" },
  });
  const res = await r.chat(hello("auto", { stream: true }));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-freerouter-model"), A);
  const reader = res.body!.getReader();
  const chunks: Uint8Array[] = [];
  while (decoder.decode(concat(chunks)).length < events.join("").length) {
    const { done, value } = await within(reader.read(), "the first events");
    if (done) break;
    chunks.push(value);
  }
  delivered.resolve();
  const text = decoder.decode(await within(readRest(reader, chunks), "end"));
  assertBrokenOff(text, events);
  assert.equal(r.fake.chatRequests().length, 1, "no fallback after commit");
});

for (const stream of [false, true]) {
  test(`createHandler() falls back and aborts the hung attempt when it answers nothing within REQUEST_TIMEOUT (stream: ${stream})`, async () => {
    await using r = rig({ requestTimeout: 0.3 });
    r.fake.script(A, { hang: true });
    const res = await r.chat(hello("auto", { stream }));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-freerouter-model"), B);
    await res.body?.cancel();
    const [hung] = r.fake.chatRequests();
    await within(hung!.aborted, "the hung upstream request aborted");
  });
}

test("createHandler() falls back when a stream sends its head but no event within REQUEST_TIMEOUT", async () => {
  await using r = rig({ requestTimeout: 0.3 });
  r.fake.script(A, { stream: { parts: [], end: "hang" } });
  const res = await r.chat(hello("auto", { stream: true }));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-freerouter-model"), B);
  assert.ok((await res.text()).endsWith(DONE));
  await within(r.fake.chatRequests()[0]!.aborted, "the stalled stream aborted");
});

test("createHandler() falls back and aborts the attempt when a non-streamed body stalls midway", async () => {
  await using r = rig({ requestTimeout: 5, streamIdleTimeout: 0.3 });
  const body = JSON.stringify(completionBody(A, "stalls"));
  r.fake.script(A, {
    stream: {
      headers: { "content-type": "application/json" },
      parts: [body.slice(0, 40)],
      end: "hang",
    },
  });
  const res = await r.chat(hello());
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-freerouter-model"), B);
  await res.body?.cancel();
  await within(r.fake.chatRequests()[0]!.aborted, "the stalled body aborted");
});

test("createHandler() ends a stream with an error event when it stalls after the first events", async () => {
  await using r = rig({ streamIdleTimeout: 0.3 });
  const events = fullStream(A).slice(0, 2);
  r.fake.script(A, { stream: { parts: events, end: "hang" } });
  const res = await r.chat(hello("auto", { stream: true }));
  assert.equal(res.headers.get("x-freerouter-model"), A);
  assertBrokenOff(await res.text(), events);
  await within(r.fake.chatRequests()[0]!.aborted, "the stalled stream aborted");
});

test("createHandler() answers 502 with every timeout listed when each of MAX_ATTEMPTS attempts hangs", async () => {
  await using r = rig({ requestTimeout: 0.3, maxAttempts: 2 });
  r.fake.script(A, { hang: true });
  r.fake.script(B, { hang: true });
  const res = await r.chat(hello());
  assert.equal(res.headers.get("x-freerouter-attempts"), "2");
  const error = await assertOpenAIError(res, 502, "all_candidates_failed");
  assert.equal(error.message.match(/timeout/g)?.length, 2);
  assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [A, B]);
  for (const q of r.fake.chatRequests()) {
    await within(q.aborted, `the hung request to ${q.model} aborted`);
  }
});

for (
  const [name, step] of [
    ["invalid JSON", { status: 200, body: '{"id":"gen-1","choices":[{' }],
    ["an error object", overloadedIn200()],
    ["an error object and code 502", errorStatus(200, "Provider went away")],
    ["HTML", {
      status: 200,
      headers: { "content-type": "text/html" },
      body: "<html>Bad gateway</html>",
    }],
  ] as Array<[string, Step]>
) {
  test(`createHandler() falls back to the next model when a 200 carries ${name}`, async () => {
    await using r = rig();
    r.fake.script(A, step);
    const res = await r.chat(hello());
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-freerouter-model"), B);
    assert.equal((await res.json() as { model: string }).model, B);
  });
}

for (
  const [name, first] of [
    ["an event that is not JSON", "data: {not json\n\n"],
    [
      "an error event",
      'data: {"error":{"message":"overloaded","code":503}}\n\n',
    ],
  ]
) {
  test(`createHandler() falls back to the next model when a stream starts with ${name}`, async () => {
    await using r = rig();
    r.fake.script(A, { stream: { parts: [first!, ...fullStream(A)] } });
    const res = await r.chat(hello("auto", { stream: true }));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-freerouter-model"), B);
    const text = await res.text();
    assert.ok(!text.includes(first!), "nothing of the failed attempt");
    assert.ok(text.endsWith(DONE));
  });
}

/**
 * A gate for the fake's parts that the client opens once it has read enough,
 * or a watchdog opens after 10 s (then the proxy was holding the body back).
 */
function clientGate() {
  const gate = deferred();
  let openedBy: "client" | "watchdog" | undefined;
  const timer = setTimeout(() => {
    openedBy ??= "watchdog";
    gate.resolve();
  }, 10_000);
  return {
    wait: () => gate.promise,
    open() {
      openedBy ??= "client";
      gate.resolve();
    },
    get openedBy() {
      return openedBy;
    },
    [Symbol.dispose]() {
      clearTimeout(timer);
      gate.resolve();
    },
  };
}

/** Reads `threshold` bytes, opens the gate, reads the rest; fails instead of hanging. */
async function readAcrossGate(
  res: Response,
  threshold: number,
  gate: { open(): void },
): Promise<Uint8Array> {
  const reader = res.body!.getReader();
  try {
    const chunks: Uint8Array[] = [];
    let size = 0;
    while (size < threshold) {
      const { done, value } = await within(
        reader.read(),
        `bytes after ${size} of the first ${threshold}`,
        20_000,
      );
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
    gate.open();
    return await within(readRest(reader, chunks), "the end", 30_000);
  } catch (err) {
    await reader.cancel().catch(() => {});
    throw err;
  }
}

test("createHandler() passes the body intact and starts answering before the upstream has sent it all when a completion is 30 MB", async () => {
  await using r = rig();
  const body = encoder.encode(
    JSON.stringify(completionBody(A, bigText(30_000_000))),
  );
  const cut = 8 * MiB;
  using gate = clientGate();
  r.fake.script(A, {
    stream: {
      headers: { "content-type": "application/json" },
      parts: [body.subarray(0, cut), gate.wait, body.subarray(cut)],
    },
  });
  const res = await r.chat(hello());
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-freerouter-model"), A);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  const received = await readAcrossGate(res, MiB, gate);
  assert.equal(received.length, body.length);
  assert.equal(await sha256(received), await sha256(body), "byte-for-byte");
  assert.equal(
    gate.openedBy,
    "client",
    "the first MiB reached the client while the upstream still held back the rest",
  );
  assert.equal(r.fake.chatRequests().length, 1);
});

test("createHandler() passes the stream intact and forwards its first half before the upstream sends the rest when it is 50 MB of 1 MB events", async () => {
  await using r = rig();
  const m = meta(9);
  const events = [
    chunk(A, { role: "assistant", content: "" }, null, m),
    ...Array.from({ length: 50 }, (_, i) => chunk(A, bigText(MiB, i), null, m)),
    chunk(A, { content: "" }, "stop", m),
    usageChunk(A, m),
    DONE,
  ].map((e) => encoder.encode(e));
  const firstHalf = events.slice(0, 26);
  const firstHalfBytes = firstHalf.reduce((n, e) => n + e.length, 0);
  const expected = concat(events);
  assert.ok(expected.length > 50_000_000);
  using gate = clientGate();
  r.fake.script(A, {
    stream: { parts: [...firstHalf, gate.wait, ...events.slice(26)] },
  });
  const res = await r.chat(hello("auto", { stream: true }));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-freerouter-model"), A);
  const received = await readAcrossGate(res, firstHalfBytes, gate);
  assert.equal(received.length, expected.length);
  assert.equal(await sha256(received), await sha256(expected), "byte-for-byte");
  assert.equal(gate.openedBy, "client", "the first half was forwarded in time");
});

test("createHandler() passes the stream intact and forwards its first half before the upstream sends the rest when it is 50 MB of small events cut anywhere", async () => {
  await using r = rig();
  const m = meta(8);
  const piece = bigText(4000);
  const events = [
    chunk(A, { role: "assistant", content: "" }, null, m),
    ...Array.from(
      { length: 12_500 },
      (_, i) => chunk(A, `${i}:${piece}`, null, m),
    ),
    chunk(A, { content: "" }, "stop", m),
    usageChunk(A, m),
    DONE,
  ].map((e) => encoder.encode(e));
  const half = Math.floor(events.length / 2);
  const firstHalfBytes = events.slice(0, half).reduce(
    (n, e) => n + e.length,
    0,
  );
  // The upstream writes in 64 KiB pieces that cut events anywhere.
  const pieces = (from: Uint8Array) =>
    Array.from(
      { length: Math.ceil(from.length / 65536) },
      (_, i) => from.subarray(i * 65536, (i + 1) * 65536),
    );
  const expected = concat(events);
  assert.ok(expected.length > 50_000_000);
  using gate = clientGate();
  r.fake.script(A, {
    stream: {
      parts: [
        ...pieces(concat(events.slice(0, half))),
        gate.wait,
        ...pieces(concat(events.slice(half))),
      ],
    },
  });
  const res = await r.chat(hello("auto", { stream: true }));
  assert.equal(res.status, 200);
  const received = await readAcrossGate(res, firstHalfBytes, gate);
  assert.equal(received.length, expected.length);
  assert.equal(await sha256(received), await sha256(expected), "byte-for-byte");
  assert.equal(gate.openedBy, "client", "the first half was forwarded in time");
});

for (const end of ["reset", "close"] as const) {
  test(
    `createHandler() never passes a cut-off large completion off as complete when the upstream ${
      end === "reset" ? "resets" : "closes"
    } midway`,
    async () => {
      await using r = rig();
      const body = encoder.encode(
        JSON.stringify(completionBody(A, bigText(30_000_000))),
      );
      r.fake.script(A, {
        stream: {
          headers: { "content-type": "application/json" },
          parts: [body.subarray(0, 8 * MiB)],
          end,
        },
      });
      const res = await r.chat(hello());
      let text: string | undefined;
      try {
        text = await within(res.text(), "the end of the body", 30_000);
      } catch (err) {
        // The body broke off: the client knows the answer is incomplete.
        assert.ok(!/never happened/.test(String(err)), String(err));
      }
      if (text !== undefined) {
        // Only a whole answer may end cleanly: here, a fallback's.
        assert.equal(res.status, 200, text.slice(0, 300));
        assert.equal(
          res.headers.get("x-freerouter-model"),
          B,
          `a clean end after ${text.length} of ${body.length} bytes`,
        );
        assert.equal((JSON.parse(text) as { model: string }).model, B);
      }
    },
  );
}

test("createHandler() leaves no unhandled rejection when clients abort mid-stream, mid-attempt and mid-body", async () => {
  await using r = rig();
  const { server, url } = serveOnLoopback(r.handler);
  try {
    // 1. Mid-stream: read the first bytes, then abort.
    r.fake.script(A, {
      stream: { parts: [...fullStream(A).slice(0, 2)], end: "hang" },
    });
    const c1 = new AbortController();
    const streaming = await postChat(url, hello("auto", { stream: true }));
    const reader = streaming.body!.getReader();
    await reader.read();
    c1.abort();
    await reader.cancel();
    await within(r.fake.chatRequests()[0]!.aborted, "stream aborted upstream");

    // 2. While the attempt waits for its head.
    r.fake.script(A, { hang: true });
    const c2 = new AbortController();
    const waiting = fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify(hello()),
      signal: c2.signal,
    }).catch((err: unknown) => err);
    await r.fake.waitForChatRequests(2);
    c2.abort();
    assert.ok((await waiting) instanceof Error);
    await within(r.fake.chatRequests()[1]!.aborted, "attempt aborted upstream");

    // 3. Mid-body of a large completion.
    const big = encoder.encode(JSON.stringify(completionBody(A, bigText(MiB))));
    r.fake.script(A, {
      stream: {
        headers: { "content-type": "application/json" },
        parts: [big.subarray(0, 1000)],
        end: "hang",
      },
    });
    const c3 = new AbortController();
    const midBody = fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify(hello()),
      signal: c3.signal,
    }).catch((err: unknown) => err);
    await r.fake.waitForChatRequests(3);
    c3.abort();
    assert.ok((await midBody) instanceof Error);
    await within(r.fake.chatRequests()[2]!.aborted, "body aborted upstream");
    assert.equal(r.fake.chatRequests().length, 3, "no fallback for a leaver");
  } finally {
    await server.shutdown();
  }
});

test("createHandler() keeps the last good catalog when the models endpoint answers garbage, an empty list or an error", async () => {
  const log = captureLog();
  await using r = rig({ modelRefreshTtl: 60, logger: log });
  await (await r.chat(hello())).body?.cancel();
  const faults: Step[] = [
    { status: 200, headers: { "content-type": "text/html" }, body: "<html>" },
    { status: 200, body: "{not json" },
    { status: 200, body: { data: [] } },
    { status: 200, body: { data: "models" } },
    { status: 200, body: [] },
    { status: 200, body: {} },
    { status: 200, body: { data: [null, 7, "x", { id: 5 }] } },
    { status: 500, body: "oops" },
    { status: 200, body: "" },
    { reset: true },
  ];
  for (const [i, fault] of faults.entries()) {
    r.fake.scriptModels(fault);
    r.clock.advance(61_000);
    const res = await r.chat(hello());
    assert.equal(res.status, 200, `fault ${i}`);
    assert.equal(res.headers.get("x-freerouter-model"), A, `fault ${i}`);
    await res.body?.cancel();
    await r.handler.close(); // waits for the background refresh
    const list = await (await r.request("/v1/models")).json() as {
      data: Array<{ id: string }>;
    };
    assert.deepEqual(list.data.map((m) => m.id), POOL, `fault ${i}`);
  }
  assert.equal(r.fake.modelsRequests().length, 1 + faults.length);
  assert.equal(
    log.lines.filter((l) => /^warn Catalog refresh failed/.test(l)).length,
    faults.length,
    log.text(),
  );
});

test("createHandler() keeps the last good catalog and aborts the refresh when the models endpoint times out", async () => {
  const log = captureLog();
  await using r = rig({
    modelRefreshTtl: 60,
    requestTimeout: 0.3,
    logger: log,
  });
  await (await r.chat(hello())).body?.cancel();
  r.fake.scriptModels({ hang: true });
  r.clock.advance(61_000);
  const res = await r.chat(hello());
  assert.equal(res.status, 200, "answered from the stale catalog");
  assert.equal(res.headers.get("x-freerouter-model"), A);
  await res.body?.cancel();
  await r.handler.close(); // waits for the refresh to time out
  const hung = r.fake.modelsRequests()[1]!;
  await within(hung.aborted, "the hung /models request aborted");
  assert.match(log.text(), /Catalog refresh failed/);
  const list = await (await r.request("/v1/models")).json() as {
    data: Array<{ id: string }>;
  };
  assert.deepEqual(list.data.map((m) => m.id), POOL);
});

test("createHandler() answers 503 no_free_models and recovers later when the very first catalog load fails", async () => {
  await using r = rig({ requestTimeout: 0.3 });
  r.fake.scriptModels(
    { status: 200, body: "<html>" },
    { status: 200, body: { data: [] } },
    { hang: true },
  );
  for (let i = 0; i < 3; i++) {
    await assertOpenAIError(await r.chat(hello()), 503, "no_free_models");
  }
  await within(r.fake.modelsRequests()[2]!.aborted, "the hung load aborted");
  const res = await r.chat(hello());
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-freerouter-model"), A);
  await res.body?.cancel();
  assert.equal(r.fake.chatRequests().length, 1);
});

test("createHandler() routes on the well-formed entries only when catalog entries have missing or odd required fields", async () => {
  const good = catalogRow({ id: "good/one:free", context_length: 65536 });
  const second = catalogRow({ id: "good/two", context_length: 8192 });
  const odd = (patch: Record<string, unknown>, id = "odd/model:free") => ({
    ...catalogRow({ id }),
    ...patch,
  });
  const noArchitecture: Record<string, unknown> = odd({}, "odd/no-arch:free");
  delete noArchitecture.architecture;
  const noContext: Record<string, unknown> = odd({}, "odd/no-context:free");
  delete noContext.context_length;
  const noId: Record<string, unknown> = odd({});
  delete noId.id;
  const models: unknown[] = [
    null,
    42,
    "odd/a-string:free",
    [],
    {},
    noId,
    noArchitecture,
    noContext,
    odd({ id: 7 }),
    odd({ id: "" }),
    odd({ id: ["x:free"] }),
    odd({ architecture: "text->text" }, "odd/arch-string:free"),
    odd({ architecture: null }, "odd/arch-null:free"),
    odd({ architecture: { modality: 5 } }, "odd/modality-number:free"),
    odd({ context_length: -5 }, "odd/negative-context:free"),
    odd({ context_length: "big" }, "odd/string-context:free"),
    odd({ context_length: null }, "odd/null-context:free"),
    odd({ context_length: Infinity }, "odd/infinite-context:free"),
    odd({ pricing: "free" }, "odd/pricing-string:free"),
    odd({ pricing: null }, "odd/pricing-null:free"),
    odd({ pricing: { prompt: "abc", completion: "0" } }, "odd/price-nan:free"),
    odd({ pricing: { completion: "0" } }, "odd/no-prompt-price:free"),
    odd({ pricing: [] }, "odd/pricing-array:free"),
    good,
    second,
  ];
  await using r = rig({ fakeOptions: { models } });
  const res = await r.request("/v1/models");
  assert.equal(res.status, 200);
  const list = await res.json() as { data: Array<{ id: string }> };
  assert.deepEqual(list.data.map((m) => m.id), ["good/one:free", "good/two"]);
  const chat = await r.chat(hello());
  assert.equal(chat.status, 200);
  assert.equal(chat.headers.get("x-freerouter-model"), "good/one:free");
  await chat.body?.cancel();
});

// ===========================================================================
// State faults

const KV_FAULTS: Array<[string, (dir: string) => Promise<string>]> = [
  ["its parent is a regular file", async (dir) => {
    await Deno.writeTextFile(`${dir}/file`, "x");
    return `${dir}/file/kv.sqlite`;
  }],
  ["it is a directory", async (dir) => {
    await Deno.mkdir(`${dir}/kv.sqlite`);
    return `${dir}/kv.sqlite`;
  }],
  ["the file holds random bytes", async (dir) => {
    await Deno.writeFile(
      `${dir}/kv.sqlite`,
      crypto.getRandomValues(new Uint8Array(16 * 1024)),
    );
    return `${dir}/kv.sqlite`;
  }],
  ["the file holds text", async (dir) => {
    await Deno.writeTextFile(
      `${dir}/kv.sqlite`,
      "this is not a database\n".repeat(1000),
    );
    return `${dir}/kv.sqlite`;
  }],
  [
    "it is on a read-only file system",
    () => Promise.resolve("/proc/freerouter-fault-test/kv.sqlite"),
  ],
];

for (const [name, prepare] of KV_FAULTS) {
  test(`createHandler() behind src/server/main.ts exits non-zero with one line naming FREEROUTER_KV_PATH when ${name}`, async () => {
    await withTempDir(async (dir) => {
      const path = await prepare(dir);
      const { code, stdout, stderr } = await runToEnd({
        OPENROUTER_API_KEY: "sk-or-v1-kvfault-UPSTREAM-SECRET-91f2",
        FREEROUTER_API_KEY: "kvfault-ACCESS-SECRET-5d07",
        OPENROUTER_BASE_URL: "http://127.0.0.1:9/api/v1",
        FREEROUTER_KV_PATH: path,
      });
      assert.notEqual(code, 0);
      const lines = stderr.trim().split("\n");
      assert.equal(lines.length, 1, stderr);
      assert.match(lines[0]!, /^freerouter: /);
      assert.ok(lines[0]!.includes(path), stderr);
      assert.match(lines[0]!, /FREEROUTER_KV_PATH/);
      assert.doesNotMatch(stderr, /listening on/);
      assert.doesNotMatch(stderr, /\bat .*\.ts:\d+/, "no stack trace");
      assert.doesNotMatch(stderr + stdout, /SECRET/, "no key printed");
    });
  });
}

test("createHandler() behind serve() rejects with a ConfigError naming the path when FREEROUTER_KV_PATH is unusable", async () => {
  await withTempDir(async (dir) => {
    for (const [name, prepare] of KV_FAULTS) {
      const sub = `${dir}/${KV_FAULTS.findIndex(([n]) => n === name)}`;
      await Deno.mkdir(sub);
      const path = await prepare(sub);
      const config = parseServerConfig({
        PORT: "0",
        FREEROUTER_KV_PATH: path,
        OPENROUTER_BASE_URL: "http://127.0.0.1:9/api/v1",
      });
      await assert.rejects(serve(config, quiet), (err: unknown) => {
        assert.ok(err instanceof ConfigError, `${name}: ${err}`);
        assert.ok(err.message.includes(path), err.message);
        return true;
      });
    }
  });
});

test("createHandler() behind src/server/main.ts keeps nothing between runs when FREEROUTER_KV_PATH=:memory:", async () => {
  await withTempDir(async (cwd) => {
    await using fake = startFakeOpenRouter();
    fake.script(A, modelRpm(A, { resetMs: Date.now() + 10 * 60_000 }));
    const env = {
      OPENROUTER_API_KEY: "sk-or-v1-test",
      OPENROUTER_BASE_URL: fake.baseUrl,
      FREEROUTER_KV_PATH: ":memory:",
      FREEROUTER_RPM: "0",
    };
    for (const expected of [B, A]) {
      const main = await startMain(env, cwd);
      try {
        const res = await postChat(main.url, hello());
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("x-freerouter-model"), expected);
        await res.body?.cancel();
      } finally {
        assert.equal((await main.stop()).code, 0);
      }
    }
    assert.deepEqual(
      fake.chatRequests().map((q) => q.model),
      [A, B, A],
      "the second run did not know A's cooldown",
    );
    const written: string[] = [];
    for await (const entry of Deno.readDir(cwd)) written.push(entry.name);
    assert.deepEqual(written, [], "nothing written to disk");
  });
});

test("createHandler() behind src/server/main.ts skips a model after a restart when its cooldown was written just before the process was killed", async () => {
  await withTempDir(async (dir) => {
    await using fake = startFakeOpenRouter();
    fake.script(A, modelRpm(A, { resetMs: Date.now() + 10 * 60_000 }));
    const env = {
      OPENROUTER_API_KEY: "sk-or-v1-test",
      OPENROUTER_BASE_URL: fake.baseUrl,
      FREEROUTER_KV_PATH: `${dir}/kv.sqlite`,
      FREEROUTER_RPM: "0",
    };
    const first = await startMain(env);
    let killed: Deno.CommandStatus;
    try {
      const res = await postChat(first.url, hello());
      assert.equal(res.headers.get("x-freerouter-model"), B);
      await res.body?.cancel();
    } finally {
      killed = await first.stop("SIGKILL");
    }
    assert.equal(killed.signal, "SIGKILL");
    assert.deepEqual(fake.chatRequests().map((q) => q.model), [A, B]);

    const second = await startMain(env);
    try {
      const res = await postChat(second.url, hello());
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-freerouter-model"), B);
      assert.equal(res.headers.get("x-freerouter-attempts"), "1");
      await res.body?.cancel();
    } finally {
      assert.equal((await second.stop()).code, 0);
    }
    assert.deepEqual(
      fake.chatRequests().map((q) => q.model),
      [A, B, B],
      "A was skipped after the crash",
    );
  });
});

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

test("createHandler() key comparison takes the same time when keys differ in the first byte as when they differ in the last", () => {
  const size = MiB;
  // Flat strings (decoded from bytes), so that an early-exit comparison would show.
  const flat = (bytes: Uint8Array) => decoder.decode(bytes);
  const base = new Uint8Array(size).fill(0x61);
  const key = flat(base);
  const firstDiffers = flat(base.slice().fill(0x62, 0, 1));
  const lastDiffers = flat(base.slice().fill(0x62, size - 1));
  const median = (other: string) => {
    const times: number[] = [];
    for (let i = 0; i < 15; i++) {
      const t = performance.now();
      timingSafeEqual(other, key);
      times.push(performance.now() - t);
    }
    return times.sort((a, b) => a - b)[7]!;
  };
  median(lastDiffers); // warm up
  median(firstDiffers);
  const early = median(firstDiffers);
  const late = median(lastDiffers);
  const ratio = late / Math.max(early, 1e-6);
  assert.ok(
    ratio < 4 && ratio > 0.25,
    `first byte differs: ${early.toFixed(3)} ms, last byte: ${
      late.toFixed(3)
    } ms`,
  );
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
    checkExposure(config({ HOST: host, FREEROUTER_API_KEY: "k" }));
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
    const extra of [{ FREEROUTER_API_KEY: "k" }, { FREEROUTER_ALLOW_OPEN: "1" }]
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

// ---------------------------------------------------------------------------

test("createHandler() left no promise rejection unhandled when every test above has run", () => {
  assert.deepEqual(unhandledRejections, []);
  return Promise.resolve();
});
