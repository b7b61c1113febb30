/**
 * A request whose body is still being sent when its client goes away, or
 * when the proxy is told to stop, as `deno task start` runs it: it is no
 * internal error (before, a 500 and a stack trace in the log), and the client
 * that finishes sending after a SIGTERM gets a retryable 503 in OpenAI's
 * shape. LOG_LEVEL=debug adds a line per upstream
 * attempt, LOG_LEVEL=error keeps the listening line. Order is checked by
 * events: log lines, the exit.
 */
import assert from "node:assert/strict";
import { within } from "./_async.ts";
import { startMain } from "./_deno_process.ts";
import {
  FREE_CHAT_IDS_IN_PRIORITY_ORDER,
  startFakeOpenRouter,
} from "./fake_openrouter/mod.ts";

const [A, B] = FREE_CHAT_IDS_IN_PRIORITY_ORDER as [string, string];
const encoder = new TextEncoder();

function env(baseUrl: string, extra: Record<string, string> = {}) {
  return {
    OPENROUTER_API_KEY: "sk-or-v1-upload-test",
    OPENROUTER_BASE_URL: baseUrl,
    FREEROUTER_KV_PATH: ":memory:",
    ...extra,
  };
}

/**
 * Opens a connection and sends a chat request's head with `Expect:
 * 100-continue`; once the server asks for the body (its handler is reading
 * it: an event, not a delay), sends the first part of it.
 */
async function halfSent(url: string): Promise<Deno.TcpConn> {
  const { port } = new URL(url);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: +port });
  await conn.write(encoder.encode(
    "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
      "Content-Type: application/json\r\nContent-Length: 100\r\n" +
      "Expect: 100-continue\r\n\r\n",
  ));
  const asked = await within(readUntil(conn, /\r\n\r\n/), "100 Continue");
  assert.match(asked, /^HTTP\/1\.1 100 /);
  await conn.write(encoder.encode('{"model":"auto",'));
  return conn;
}

/** What the server writes on `conn` until `end` matches it (or it closes). */
async function readUntil(conn: Deno.TcpConn, end: RegExp): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  const buf = new Uint8Array(4096);
  while (!end.test(text)) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) return text;
    text += decoder.decode(buf.subarray(0, n));
  }
  return text;
}

/** POSTs one small chat completion. */
function chatOnce(url: string): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: "auto",
      messages: [{ role: "user", content: "hi" }],
    }),
  });
}

Deno.test("deno task start: a client that closes the connection while sending its body is answered 503 body_unreadable, not logged as an internal error", async () => {
  await using fake = startFakeOpenRouter();
  const main = await startMain(env(fake.baseUrl));
  try {
    const conn = await halfSent(main.url);
    conn.close();
    await within(
      main.logged(/request .*status=503/),
      "the request's line with status 503",
    );
    assert.doesNotMatch(main.stderr(), /Unexpected error|BadResource/);
    assert.equal(fake.chatRequests().length, 0);
  } finally {
    await main.stop();
  }
});

Deno.test("deno task start: a client still sending its body when SIGTERM comes gets a retryable 503 in OpenAI's shape, and the proxy exits 0", async () => {
  await using fake = startFakeOpenRouter();
  const main = await startMain(env(fake.baseUrl));
  const conn = await halfSent(main.url);
  try {
    main.kill("SIGTERM");
    await within(
      main.logged(/Shutting down once the open requests end/),
      "the shutdown's line",
    );
    await conn.write(encoder.encode(" ".repeat(100 - 16))).catch(() => {});
    const answer = await within(
      readUntil(conn, /\r\n\r\n[\s\S]*\}$/),
      "the answer",
    );
    assert.match(answer, /^HTTP\/1\.1 503 /);
    assert.match(answer, /retry-after: 1/i);
    assert.match(answer, /"code":"body_unreadable"/);
  } finally {
    conn.close();
  }
  assert.equal((await within(main.exited, "the exit")).code, 0);
  assert.doesNotMatch(main.stderr(), /Unexpected error|BadResource/);
});

Deno.test("deno task start: LOG_LEVEL=debug logs each upstream attempt; LOG_LEVEL=error still says where it listens", async () => {
  await using fake = startFakeOpenRouter();
  fake.script(A, {
    status: 503,
    body: { error: { message: "down", code: 503 } },
  });
  const debug = await startMain(env(fake.baseUrl, { LOG_LEVEL: "debug" }));
  try {
    const res = await chatOnce(debug.url);
    assert.equal(res.headers.get("x-freerouter-model"), B);
    await res.body?.cancel();
    await within(
      debug.logged(/DEBUG attempt .*n=2/),
      "the second attempt's line",
    );
    const lines = debug.stderr().split("\n").filter((l) =>
      / DEBUG attempt /.test(l)
    );
    assert.equal(lines.length, 2);
    assert.match(
      lines[0]!,
      new RegExp(`model=${A.replace(/[.:/]/g, "\\$&")} outcome=503`),
    );
    assert.match(lines[1]!, /outcome=ok/);
  } finally {
    await debug.stop();
  }
  // startMain() waits for the listening line: at LOG_LEVEL=error too.
  const quiet = await startMain(env(fake.baseUrl, { LOG_LEVEL: "error" }));
  const res = await chatOnce(quiet.url);
  await res.body?.cancel();
  assert.equal((await quiet.stop()).code, 0);
  assert.doesNotMatch(quiet.stderr(), / INFO request /);
});
