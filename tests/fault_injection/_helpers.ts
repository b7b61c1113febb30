/**
 * Helpers of the fault-injection suites (issue 6): bad client input
 * (input_*_test.ts), upstream faults (upstream_*_test.ts), state faults
 * (state_test.ts) and the security properties (security_test.ts), each shown
 * against the fake OpenRouter, an injected `fetch`, a real socket or the
 * src/server/main.ts process.
 *
 * Every test written with {@linkcode test} also checks that no promise
 * rejection was left unhandled; {@linkcode testNoRejectionLeft} checks it once
 * more after a file's last test. Ordering is shown with gates in the fake,
 * never with sleeps; `within()` only turns a would-be hang into a failure.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Logger } from "../../src/options.ts";
import { hello } from "../_harness.ts";

/** Bytes in a MiB. */
export const MiB = 1024 * 1024;
const encoder = new TextEncoder();
/** The chat route of the handler under test. */
export const CHAT_URL = "http://freerouter.test/v1/chat/completions";
/** A one-message conversation. */
export const MESSAGES = [{ role: "user", content: "Hello" }];

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
export function test(name: string, fn: () => Promise<void>): void {
  Deno.test(name, async () => {
    const before = unhandledRejections.length;
    await fn();
    // An event-loop turn, not a sleep: Deno dispatches `unhandledrejection`
    // for a promise rejected without a handler at the end of the macrotask
    // it was rejected in, so one left when `fn` settles is recorded before
    // a zero-delay timer set now can fire, however slow the machine. There
    // is no promise to await instead: the rejection has no handler, and no
    // API flushes the runtime's pending-rejection queue. Background work
    // that rejects later is awaited by the test itself (`handler.close()`).
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

export const quiet: Logger = { info() {}, warn() {} };

/** A logger that keeps every line, fields included, for grepping. */
export interface CapturedLog extends Logger {
  readonly lines: string[];
  text(): string;
  /** Resolves once `count` lines match `pattern` (at once when they already do). */
  waitFor(pattern: RegExp, count: number): Promise<void>;
}

export function captureLog(): CapturedLog {
  const lines: string[] = [];
  const waiters: Array<{ pattern: RegExp; count: number; done: () => void }> =
    [];
  const matching = (pattern: RegExp) =>
    lines.filter((l) => pattern.test(l)).length;
  const settle = () => {
    for (const w of [...waiters]) {
      if (matching(w.pattern) >= w.count) {
        waiters.splice(waiters.indexOf(w), 1);
        w.done();
      }
    }
  };
  const push =
    (level: string) => (message: string, fields?: Record<string, unknown>) => {
      lines.push(
        `${level} ${message}${fields ? ` ${JSON.stringify(fields)}` : ""}`,
      );
      settle();
    };
  return {
    lines,
    info: push("info"),
    warn: push("warn"),
    text: () => lines.join("\n"),
    waitFor: (pattern, count) =>
      new Promise<void>((done) => {
        waiters.push({ pattern, count, done });
        settle();
      }),
  };
}

export interface OpenAIError {
  message: string;
  type: string;
  param: string | null;
  code: string | number | null;
}

/** Asserts the status and Anthropic's error envelope of the given `error.type`. */
export async function assertAnthropicError(
  res: Response,
  status: number,
  type: string,
): Promise<void> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  const body = JSON.parse(text) as { type: string; error: { type: string } };
  assert.equal(body.type, "error", text);
  assert.equal(body.error.type, type, text);
}

/** Asserts the status and the OpenAI error envelope; returns the error. */
export async function assertOpenAIError(
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

export async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    bytes as Uint8Array<ArrayBuffer>,
  );
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** A POST to the chat route with raw bytes or text and the given headers. */
export function chatRequest(
  body: BodyInit,
  headers: HeadersInit = { "content-type": "application/json" },
  init: RequestInit = {},
): Request {
  return new Request(CHAT_URL, { method: "POST", headers, body, ...init });
}

/** A JSON chat body padded with trailing spaces to exactly `size` bytes. */
export function paddedBody(size: number, extra: Record<string, unknown> = {}) {
  const json = JSON.stringify(hello("auto", extra));
  assert.ok(json.length <= size);
  return encoder.encode(json + " ".repeat(size - json.length));
}

/** A base URL on a loopback port that was bound and closed: connection refused. */
export function closedBaseUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return `http://127.0.0.1:${port}/api/v1`;
}

export async function withTempDir<T>(
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "freerouter-fault-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Every response header and the body, as one text to grep. */
export async function transcript(res: Response): Promise<string> {
  const head = [...res.headers].map(([k, v]) => `${k}: ${v}`).join("\n");
  let body: string;
  try {
    body = await res.text();
  } catch (err) {
    body = `<body error: ${err}>`;
  }
  return `${res.status}\n${head}\n\n${body}`;
}

/** Deterministic text of exactly `length` characters, different at every offset. */
export function bigText(length: number, seed = 0): string {
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

export function postChat(
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

/**
 * The last test of a file: no promise rejection was left unhandled once every
 * test above has run.
 */
export function testNoRejectionLeft(): void {
  test("createHandler() left no promise rejection unhandled when every test above has run", () => {
    assert.deepEqual(unhandledRejections, []);
    return Promise.resolve();
  });
}
