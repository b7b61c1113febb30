/**
 * A key the runtime cannot send (a line break from a double-quoted `.env`
 * value): the runtime's error quotes the header, and that message must not
 * carry the key into errors, logs or the status page.
 */
import assert from "node:assert/strict";
import { parseServerConfig } from "../src/server/config.ts";
import { fetchFreePool } from "../src/upstream/catalog_fetch.ts";
import { fetchKeyReport } from "../src/upstream/key_fetch.ts";
import { isWellFormedKey, redactSecret } from "../src/core/secrets.ts";
import {
  hello,
  HELLO_ON_EVERY_FRONT,
  postJson,
  rig,
  SERVER_KEY,
} from "./_harness.ts";
import {
  chunk,
  dailyCap,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER,
  streamErrorEvent,
} from "./fake_openrouter/mod.ts";
import { streamStep } from "./_streams.ts";

const [A] = FREE_CHAT_IDS_IN_PRIORITY_ORDER as [string];

const SECRET = "sk-or-v1-0123456789abcdef";
const BROKEN = `${SECRET}\nx`;

Deno.test("isWellFormedKey() takes printable ASCII without spaces only", () => {
  assert.equal(isWellFormedKey(SECRET), true);
  for (const bad of [BROKEN, `${SECRET} x`, `${SECRET}\t`, "", "clé"]) {
    assert.equal(isWellFormedKey(bad), false, JSON.stringify(bad));
  }
});

Deno.test("redactSecret() removes the key and any bearer token", () => {
  assert.equal(
    redactSecret(`Invalid header value: "Bearer ${BROKEN}"`, BROKEN),
    'Invalid header value: "Bearer [redacted]"',
  );
  assert.equal(
    redactSecret(`bad: Bearer ${SECRET} again ${SECRET}`, undefined),
    "bad: Bearer [redacted] again " + SECRET,
    "without the secret only bearer tokens go",
  );
  assert.equal(redactSecret(`${SECRET}!`, SECRET), "[redacted]!");
});

Deno.test("parseServerConfig() refuses an OpenRouter key with a line break, without showing it", () => {
  assert.throws(
    () => parseServerConfig({ OPENROUTER_API_KEY: BROKEN }),
    (err: Error) => {
      assert.match(err.message, /OPENROUTER_API_KEY must be printable ASCII/);
      assert.ok(!err.message.includes(SECRET), err.message);
      return true;
    },
  );
});

const options = {
  baseUrl: "http://127.0.0.1:1/api/v1",
  fetch: globalThis.fetch,
  requestTimeoutMs: 5_000,
};

Deno.test("fetchFreePool() and fetchKeyReport() reject without the key in the message", async () => {
  for (
    const read of [
      () => fetchFreePool(options, BROKEN),
      () => fetchKeyReport(options, BROKEN),
    ]
  ) {
    await assert.rejects(read, (err: Error) => {
      assert.equal(err.name, "TypeError", "the runtime's own error");
      assert.match(err.message, /header/i);
      assert.ok(!err.message.includes(SECRET), err.message);
      return true;
    });
  }
});

Deno.test("createHandler() with an unsendable key answers, logs and reports without it", async () => {
  const lines: string[] = [];
  const log = (message: string, fields?: Record<string, unknown>) =>
    void lines.push(message + JSON.stringify(fields ?? {}));
  await using r = rig({
    apiKey: BROKEN,
    logger: { info: log, warn: log },
  });
  const res = await r.chat(hello());
  const text = await res.text();
  assert.equal(res.status, 503, text);
  assert.ok(!text.includes(SECRET), text);
  const status = await (await r.request("/v1/freerouter/status")).text();
  assert.ok(!status.includes(SECRET), status);
  await r.handler.close(); // background reads (the quota's /key) end first
  assert.ok(lines.length > 0, "the failure was logged");
  for (const line of lines) assert.ok(!line.includes(SECRET), line);
});

/** An upstream error that quotes the key it was sent, as a message and in `metadata.raw`. */
const echoed = {
  status: 400,
  body: {
    error: {
      message: `Invalid request for key ${SERVER_KEY}`,
      code: 400,
      metadata: { raw: `auth=Bearer ${SERVER_KEY}` },
    },
  },
};

Deno.test("createHandler() keeps the key out of an upstream refusal that quotes it, on every front", async () => {
  await using r = rig();
  for (const [path, body] of HELLO_ON_EVERY_FRONT) {
    r.fake.script(A, echoed);
    const res = await postJson(r, path, body);
    const text = await res.text();
    assert.equal(res.status, 400, `${path}: ${text}`);
    assert.ok(!text.includes(SERVER_KEY), `${path}: ${text}`);
    assert.match(text, /Invalid request for key \[redacted\]/, path);
  }
});

Deno.test("createHandler() keeps the key out of a mid-stream upstream error that quotes it: the client's error event and the resumption's log", async () => {
  const broken = streamStep([
    chunk(A, { role: "assistant", content: "" }),
    chunk(A, "Hel"),
    streamErrorEvent({
      withChoices: true,
      code: 502,
      message: `upstream failed for key ${SERVER_KEY}`,
      model: A,
    }),
  ]);
  for (const streamResume of [false, true]) {
    const lines: string[] = [];
    const log = (message: string, fields?: Record<string, unknown>) =>
      void lines.push(message + JSON.stringify(fields ?? {}));
    await using r = rig({ streamResume, logger: { info: log, warn: log } });
    r.fake.script(A, broken);
    const res = await r.chat(hello("auto", { stream: true }));
    const text = await res.text();
    assert.ok(!text.includes(SERVER_KEY), text);
    if (streamResume) {
      const resumed = lines.find((l) => l.startsWith("stream resumed"));
      assert.ok(resumed, lines.join("\n"));
      assert.match(resumed, /upstream failed for key \[redacted\]/);
    } else {
      assert.match(text, /upstream failed for key \[redacted\]/);
    }
    for (const line of lines) assert.ok(!line.includes(SERVER_KEY), line);
  }
});

Deno.test("isWellFormedKey() refuses quotes and backticks, which OpenRouter keys never hold", () => {
  for (const quote of ['"', "'", "`"]) {
    for (const bad of [`${quote}${SECRET}`, `${SECRET}${quote}`]) {
      assert.equal(isWellFormedKey(bad), false, bad);
    }
  }
});

Deno.test("createHandler() keeps the key out of an account block's reason (KV, the status report) when the daily cap's 429 quotes it", async () => {
  await using r = rig();
  const cap = dailyCap({ highBalance: true });
  const body = cap.body as { error: { message: string } };
  body.error.message += `(key ${SERVER_KEY})`;
  r.fake.script(A, cap);
  const res = await r.chat(hello());
  assert.equal(res.status, 429);
  const text = await res.text();
  assert.ok(!text.includes(SERVER_KEY), text);
  const status = await (await r.request("/v1/freerouter/status")).text();
  assert.ok(!status.includes(SERVER_KEY), status);
  assert.match(
    status,
    /free-models-per-day-high-balance\. \(key \[redacted\]\)/,
  );
});
