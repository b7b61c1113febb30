/**
 * OpenRouter's keep-alives (`: OPENROUTER PROCESSING` comments in a stream,
 * whitespace before a non-streaming body) say that a provider is at work, and
 * a provider that hangs sends them for as long as it hangs. So they extend the
 * idle deadline (a model that thinks quietly is waited for), but never past
 * FREEROUTER_KEEPALIVE_TIMEOUT after the response's last progress: a stream
 * that sends only comments after a data event then breaks (and is resumed,
 * or falls back before commit), and a body that is only whitespace falls back.
 *
 * The upstream's keep-alives are counted as the fake sends them: a bound that
 * holds ends the attempt long before the last one, and one that does not
 * would wait for them all. No assertion reads a clock.
 */
import assert from "node:assert/strict";
import { within } from "./_async.ts";
import { hello, rig } from "./_harness.ts";
import {
  chunk,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER as POOL,
  ok,
  PROCESSING,
  streamErrorEvent,
  streamOk,
} from "./fake_openrouter/mod.ts";
import { keepAlives, Pacer } from "./_streams.ts";

const [A, B] = POOL as [string, string];
/** Keep-alives the fake has to offer when they go on and on: 40 s of them, 20 ms apart. */
const ENDLESS = 2_000;
/** A keep-alive bound the endless keep-alives pass at once. */
const SHORT = { streamIdleTimeout: 0.2, keepAliveTimeout: 0.5 };
/**
 * For keep-alives that must keep a model: 15 of them, 100 ms apart (1.5 s,
 * past the 1 s idle timeout, far below the 30 s keep-alive bound).
 */
const PATIENT = { streamIdleTimeout: 1, keepAliveTimeout: 30 };

Deno.test("a committed stream that sends only keep-alive comments breaks at the keep-alive bound and is resumed on the next model", async () => {
  await using r = rig(SHORT);
  using pacer = new Pacer();
  const { parts, sent } = keepAlives(pacer, PROCESSING, ENDLESS, 20);
  r.fake.script(A, {
    stream: {
      parts: [
        chunk(A, { role: "assistant", content: "" }),
        chunk(A, "Hel"),
        ...parts,
      ],
      end: "hang",
    },
  });
  r.fake.script(B, { stream: streamOk(B, ["lo", "!"]) });
  const res = await r.chat(hello("auto", { stream: true }));
  assert.equal(res.headers.get("x-freerouter-model"), A);
  const text = await within(res.text(), "the resumed stream");
  assert.ok(text.includes(`: resumed on ${B}`), text);
  assert.match(text, /data: \[DONE\]\n\n$/);
  await within(
    r.fake.chatRequests()[0]!.aborted,
    "the stalled upstream's abort",
  );
  assert.ok(
    sent.count < ENDLESS,
    `all ${sent.count} keep-alives were waited for`,
  );
  assert.equal(r.fake.chatRequests().length, 2);
});

Deno.test("a stream that sends only keep-alive comments after its role chunk falls back to the next model at the keep-alive bound", async () => {
  await using r = rig(SHORT);
  using pacer = new Pacer();
  const { parts, sent } = keepAlives(pacer, PROCESSING, ENDLESS, 20);
  r.fake.script(A, {
    stream: {
      parts: [chunk(A, { role: "assistant", content: "" }), ...parts],
      end: "hang",
    },
  });
  r.fake.script(B, { stream: streamOk(B, ["Hello"]) });
  const res = await within(
    r.chat(hello("auto", { stream: true })),
    "the response head",
  );
  assert.equal(res.headers.get("x-freerouter-model"), B);
  assert.equal(res.headers.get("x-freerouter-attempts"), "2");
  await res.body!.cancel();
  assert.ok(
    sent.count < ENDLESS,
    `all ${sent.count} keep-alives were waited for`,
  );
});

Deno.test("a model that thinks behind keep-alive comments past the idle timeout, after its role chunk, still answers", async () => {
  await using r = rig(PATIENT);
  using pacer = new Pacer();
  const { parts } = keepAlives(pacer, PROCESSING, 15, 100);
  r.fake.script(A, {
    stream: {
      parts: [
        chunk(A, { role: "assistant", content: "" }),
        ...parts,
        chunk(A, "Hello", "stop"),
        "data: [DONE]\n\n",
      ],
    },
  });
  const res = await within(
    r.chat(hello("auto", { stream: true })),
    "the response head",
  );
  assert.equal(res.headers.get("x-freerouter-model"), A);
  assert.equal(res.headers.get("x-freerouter-attempts"), "1");
  assert.match(await res.text(), /"Hello"/);
});

Deno.test("a non-streaming answer padded with whitespace that never begins falls back at the keep-alive bound", async () => {
  await using r = rig({ requestTimeout: 0.3, ...SHORT });
  using pacer = new Pacer();
  const { parts, sent } = keepAlives(pacer, "\n", ENDLESS, 20);
  r.fake.script(A, {
    stream: {
      status: 200,
      headers: { "content-type": "application/json" },
      parts,
      end: "hang",
    },
  });
  r.fake.script(B, ok(B));
  const res = await within(r.chat(hello("auto")), "the answer");
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get("x-freerouter-model"), B);
  assert.equal((await res.json()).choices[0].message.content, "Hello world");
  assert.ok(
    sent.count < ENDLESS,
    `all ${sent.count} keep-alives were waited for`,
  );
});

Deno.test("a non-streaming answer padded with whitespace past REQUEST_TIMEOUT and the idle timeout is taken when it arrives", async () => {
  await using r = rig({ requestTimeout: 1, ...PATIENT });
  using pacer = new Pacer();
  const { parts } = keepAlives(pacer, "\n", 15, 100);
  r.fake.script(A, {
    stream: {
      status: 200,
      headers: { "content-type": "application/json" },
      parts: [...parts, JSON.stringify(ok(A).body)],
    },
  });
  const res = await within(r.chat(hello("auto")), "the answer");
  assert.equal(res.headers.get("x-freerouter-model"), A);
  assert.equal(res.headers.get("x-freerouter-attempts"), "1");
  assert.equal((await res.json()).choices[0].message.content, "Hello world");
});

Deno.test("a continuation that thinks behind keep-alive comments after its role chunk is waited for, as a fresh attempt is", async () => {
  await using r = rig({ requestTimeout: 1, ...PATIENT });
  using pacer = new Pacer();
  r.fake.script(A, {
    stream: {
      parts: [
        chunk(A, { role: "assistant", content: "" }),
        chunk(A, "Hel"),
        streamErrorEvent({ withChoices: true, code: 502 }),
      ],
      end: "hang",
    },
  });
  const { parts } = keepAlives(pacer, PROCESSING, 15, 100);
  r.fake.script(B, {
    stream: {
      parts: [
        chunk(B, { role: "assistant", content: "" }),
        ...parts,
        chunk(B, "lo", "stop"),
        "data: [DONE]\n\n",
      ],
    },
  });
  const res = await r.chat(hello("auto", { stream: true }));
  const text = await within(res.text(), "the resumed stream");
  assert.match(text, /"lo"/);
  assert.match(text, /data: \[DONE\]\n\n$/);
  assert.deepEqual(r.fake.chatRequests().map((q) => q.model), [A, B]);
});
