/**
 * Keys the upstream quotes back, from security audits of the real start
 * command and the library: JSON-escaped, in an error inside a stream's
 * choice, in a broken stream's error code, in the upstream's own
 * Content-Type, and a key given with surrounding whitespace.
 */
import assert from "node:assert/strict";
import {
  clientFor,
  hello,
  HELLO_ON_EVERY_FRONT,
  manualClock,
  MESSAGES,
  postJson,
  rig,
  SERVER_KEY,
} from "./_harness.ts";
import type { UpstreamHTTPError } from "../src/mod.ts";
import {
  chunk,
  dailyCap,
  DONE,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER,
} from "./fake_openrouter/mod.ts";
import { readBody, sseEvents, streamStep } from "./_streams.ts";

const [A, B] = FREE_CHAT_IDS_IN_PRIORITY_ORDER as [string, string];

/** The server key as JSON may write it: every `-` as `\u002d`. */
const ESCAPED = SERVER_KEY.replaceAll("-", "\\u002d");

/** What a JSON client reads of a body: its parsed values, written again. */
function decoded(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return text;
  }
}

/** A stream chunk whose one choice is `choice` (no delta text), as an SSE event. */
function choiceEvent(choice: Record<string, unknown>): string {
  return `data: ${
    JSON.stringify({
      id: "gen-x",
      object: "chat.completion.chunk",
      created: 1,
      model: A,
      choices: [{ index: 0, delta: { content: "" }, ...choice }],
    })
  }\n\n`;
}

Deno.test("a refusal that quotes the key JSON-escaped reaches no client with the key, on every front", async () => {
  await using r = rig();
  for (const [path, body] of HELLO_ON_EVERY_FRONT) {
    r.fake.script(A, {
      status: 400,
      body: `{"error":{"message":"Invalid key ${ESCAPED}","code":400}}`,
    });
    const res = await postJson(r, path, body);
    const text = await res.text();
    assert.equal(res.status, 400, `${path}: ${text}`);
    assert.ok(!decoded(text).includes(SERVER_KEY), `${path}: ${text}`);
    assert.match(decoded(text), /Invalid key \[redacted\]/, path);
  }
});

Deno.test("a daily cap's 429 that quotes the key JSON-escaped leaves it out of the account block's reason (status report, KV)", async () => {
  await using r = rig();
  const cap = dailyCap({ highBalance: true });
  const body = cap.body as { error: { message: string } };
  body.error.message += ` (key ${SERVER_KEY})`;
  const raw = JSON.stringify(body).replace(SERVER_KEY, ESCAPED);
  assert.ok(!raw.includes(SERVER_KEY));
  r.fake.script(A, { ...cap, body: raw });
  const res = await r.chat(hello());
  assert.equal(res.status, 429);
  assert.ok(!decoded(await res.text()).includes(SERVER_KEY));
  const status = decoded(
    await (await r.request("/v1/freerouter/status")).text(),
  );
  assert.ok(!status.includes(SERVER_KEY), status);
  assert.match(status, /\(key \[redacted\]\)/);
});

Deno.test("a stream chunk whose choice carries the error (finish_reason error) is a failure, not a finished answer: before the first output the next model answers", async () => {
  await using r = rig();
  r.fake.script(
    A,
    streamStep([
      chunk(A, { role: "assistant", content: "" }),
      choiceEvent({ finish_reason: "error" }),
      DONE,
    ]),
  );
  r.fake.script(
    B,
    streamStep([
      chunk(B, { role: "assistant", content: "" }),
      chunk(B, "From B"),
      chunk(B, { content: "" }, "stop"),
      DONE,
    ]),
  );
  const res = await r.chat(hello("auto", { stream: true }));
  const text = (await readBody(res)).text;
  assert.equal(res.headers.get("x-freerouter-model"), B);
  assert.ok(!text.includes(SERVER_KEY), text);
  assert.match(text, /From B/);
});

Deno.test("a stream chunk whose choice carries the error after the first output ends the stream with an error event whose message and code hold no key, never [DONE]", async () => {
  const inChoice = choiceEvent({
    finish_reason: "error",
    error: { message: `fin err ${SERVER_KEY}`, code: `bad_key_${SERVER_KEY}` },
  });
  await using r = rig({ streamResume: false });
  r.fake.script(
    A,
    streamStep([
      chunk(A, { role: "assistant", content: "" }),
      chunk(A, "Hel"),
      inChoice,
      DONE,
    ]),
  );
  const res = await r.chat(hello("auto", { stream: true }));
  const events = sseEvents((await readBody(res)).text);
  assert.notEqual(events.at(-1), "[DONE]", events.join("\n"));
  const last = JSON.parse(events.at(-1)!) as {
    error: { message: string; code: string };
  };
  assert.match(last.error.message, /fin err \[redacted\]/);
  assert.equal(last.error.code, "bad_key_[redacted]");
  assert.ok(!events.join("\n").includes(SERVER_KEY));
});

Deno.test("a refusal's Content-Type is freerouter's own, not the upstream's header (which could quote the key)", async () => {
  await using r = rig();
  r.fake.script(A, {
    status: 400,
    headers: {
      "content-type": `application/json; debug="Bearer ${SERVER_KEY}"`,
    },
    body: { error: { message: "Bad request", code: 400 } },
  });
  const res = await r.chat(hello());
  assert.equal(res.status, 400);
  assert.equal(res.headers.get("content-type"), "application/json");
  for (const [name, value] of res.headers) {
    assert.ok(!value.includes(SERVER_KEY), `${name}: ${value}`);
  }
  await res.body?.cancel();
});

Deno.test("a key with surrounding whitespace (a key file's trailing newline) is kept out of a refusal that quotes it, by createHandler and FreeRouterClient", async () => {
  const refusal = {
    status: 400,
    body: {
      error: { message: `Invalid request for key ${SERVER_KEY}`, code: 400 },
    },
  };
  for (
    const padded of [
      `${SERVER_KEY}\n`,
      ` ${SERVER_KEY} `,
      `\t${SERVER_KEY}\r\n`,
    ]
  ) {
    await using r = rig({ apiKey: padded });
    for (const [path, body] of HELLO_ON_EVERY_FRONT) {
      r.fake.script(A, refusal);
      const res = await postJson(r, path, body);
      const text = await res.text();
      assert.equal(res.status, 400, `${path}: ${text}`);
      assert.ok(!text.includes(SERVER_KEY), `${path}: ${text}`);
    }
    await using fr = clientFor(r.fake, manualClock(), { apiKey: padded });
    r.fake.script(A, refusal);
    const err = await fr.chat(MESSAGES).then(
      () => assert.fail("the refusal should reject"),
      (e: unknown) => e as UpstreamHTTPError,
    );
    assert.equal(err.status, 400);
    for (const text of [err.message, err.body, String(err)]) {
      assert.ok(!text.includes(SERVER_KEY), text);
    }
    const sent = r.fake.chatRequests().at(-1)!.headers.get("authorization");
    assert.equal(sent, `Bearer ${SERVER_KEY}`);
  }
});

Deno.test("a catalog answer that is not JSON is named so, without the parser's quote of its first characters (which could be a key)", async () => {
  await using r = rig();
  r.fake.scriptModels({ status: 200, body: `${SERVER_KEY} is not a catalog` });
  const res = await r.chat(hello());
  const text = await res.text();
  assert.equal(res.status, 503, text);
  assert.match(text, /GET \/models answered a body that is not JSON/);
  assert.ok(!text.includes(SERVER_KEY.slice(0, 8)), text);
});

Deno.test("a refusal that is not JSON and quotes the key JSON-escaped reaches no client with the key, on every front", async () => {
  await using r = rig();
  for (const [path, body] of HELLO_ON_EVERY_FRONT) {
    r.fake.script(A, {
      status: 400,
      body: `{"error": "bad key ${ESCAPED}" trailing`,
    });
    const res = await postJson(r, path, body);
    const text = await res.text();
    assert.equal(res.status, 400, `${path}: ${text}`);
    const secretPart = SERVER_KEY.slice(-12);
    assert.ok(!text.includes(secretPart), `${path}: ${text}`);
    assert.ok(!decoded(text).includes(secretPart), `${path}: ${text}`);
  }
});
