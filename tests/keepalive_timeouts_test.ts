/**
 * OpenRouter's keep-alives are not answers: `: OPENROUTER PROCESSING`
 * comments in a stream, and whitespace before a non-streaming body, keep the
 * connection open while a provider works, and a provider that hangs sends
 * them for as long as it hangs. They never extend a timeout: a stream that
 * sends only comments after its last data event breaks after the idle
 * timeout (and is resumed), one that sends only comments after its role chunk
 * falls back, and a body that sends only whitespace falls back after
 * REQUEST_TIMEOUT.
 *
 * The upstream's keep-alives are counted as the fake sends them: a timeout
 * that fires ends the attempt long before the last one, and one that never
 * fires would wait for them all. No assertion reads a clock.
 */
import assert from "node:assert/strict";
import { within } from "./_async.ts";
import { hello, rig } from "./_harness.ts";
import {
  chunk,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER as POOL,
  ok,
  PROCESSING,
  streamOk,
} from "./fake_openrouter/mod.ts";
import { Pacer } from "./_streams.ts";

const [A, B] = POOL as [string, string];
/** Keep-alives the fake has to offer: 40 s of them, 20 ms apart. */
const KEEP_ALIVES = 2_000;

/** `count` copies of `keepAlive`, 20 ms apart, counting those sent. */
function keepAlives(pacer: Pacer, keepAlive: string) {
  const sent = { count: 0 };
  const parts = Array.from({ length: KEEP_ALIVES }, () => [
    pacer.gate(20),
    () => Promise.resolve(void sent.count++),
    keepAlive,
  ]).flat();
  return { parts, sent };
}

Deno.test("a committed stream that sends only keep-alive comments breaks after the idle timeout and is resumed on the next model", async () => {
  await using r = rig({ streamIdleTimeout: 0.2 });
  using pacer = new Pacer();
  const { parts, sent } = keepAlives(pacer, PROCESSING);
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
  assert.match(text, new RegExp(`: resumed on ${B.replace(/[.:/]/g, "\\$&")}`));
  assert.match(text, /data: \[DONE\]\n\n$/);
  await within(
    r.fake.chatRequests()[0]!.aborted,
    "the stalled upstream's abort",
  );
  assert.ok(
    sent.count < KEEP_ALIVES,
    `all ${sent.count} keep-alives were waited for`,
  );
  assert.equal(r.fake.chatRequests().length, 2);
});

Deno.test("a stream that sends only keep-alive comments after its role chunk falls back to the next model before commit", async () => {
  await using r = rig({ streamIdleTimeout: 0.2 });
  using pacer = new Pacer();
  const { parts, sent } = keepAlives(pacer, PROCESSING);
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
    sent.count < KEEP_ALIVES,
    `all ${sent.count} keep-alives were waited for`,
  );
});

Deno.test("a non-streaming answer padded with whitespace that never begins falls back after REQUEST_TIMEOUT", async () => {
  await using r = rig({ requestTimeout: 0.3 });
  using pacer = new Pacer();
  const { parts, sent } = keepAlives(pacer, "\n");
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
  assert.equal(
    (await res.json()).choices[0].message.content,
    "Hello world",
  );
  assert.ok(
    sent.count < KEEP_ALIVES,
    `all ${sent.count} keep-alives were waited for`,
  );
});

Deno.test("a non-streaming answer padded with whitespace that then arrives is taken, whatever the padding", async () => {
  await using r = rig({ requestTimeout: 5 });
  r.fake.script(A, {
    stream: {
      status: 200,
      headers: { "content-type": "application/json" },
      parts: ["\n", "\n \n", JSON.stringify(ok(A).body)],
    },
  });
  const res = await r.chat(hello("auto"));
  assert.equal(res.headers.get("x-freerouter-model"), A);
  assert.equal(
    (await res.json()).choices[0].message.content,
    "Hello world",
  );
});
