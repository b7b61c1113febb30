/**
 * Fault injection, upstream faults: very large bodies and streams pass intact
 * and are forwarded before the upstream has sent them all; clients that
 * leave mid-stream, mid-attempt and mid-body leave no rejection unhandled.
 */
import assert from "node:assert/strict";
import { concat, deferred, within } from "../_async.ts";
import { hello, rig } from "../_harness.ts";
import {
  chunk,
  completionBody,
  DONE,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER as POOL,
  usageChunk,
} from "../fake_openrouter/mod.ts";
import { fullStream, meta, readRest, serveOnLoopback } from "../_streams.ts";
import {
  bigText,
  MiB,
  postChat,
  sha256,
  test,
  testNoRejectionLeft,
} from "./_helpers.ts";

const [A, B] = POOL as [string, string];
const encoder = new TextEncoder();

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
    return (await within(readRest(reader, chunks), "the end", 30_000)).bytes;
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

testNoRejectionLeft();
