/**
 * A committed stream that ends short of its answer is told once after its
 * request's line: a "stream cut" log line with the request id, and
 * `freerouter_streams_cut_total{how}`. Broken for good (the client got an
 * error event), or the client stopped reading; a stream another model
 * continued to its end is not cut.
 */
import assert from "node:assert/strict";
import { deferred, within } from "./_async.ts";
import { hello, rig } from "./_harness.ts";
import { streamStep } from "./_streams.ts";
import {
  chunk,
  DONE,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER,
  streamErrorEvent,
} from "./fake_openrouter/mod.ts";

const [A, B] = FREE_CHAT_IDS_IN_PRIORITY_ORDER as [string, string];

/** A rig whose "stream cut" lines are kept, with the request ids its request lines carry. */
function cutRig(streamResume: boolean) {
  const cuts: Array<Record<string, unknown>> = [];
  const resumed: Array<Record<string, unknown>> = [];
  const ids: unknown[] = [];
  const told = deferred();
  const log = (message: string, fields?: Record<string, unknown>) => {
    if (message === "request") ids.push(fields?.request_id);
    if (message === "stream cut") cuts.push(fields ?? {}), told.resolve();
    if (message === "stream resumed") resumed.push(fields ?? {});
  };
  const r = rig({ streamResume, logger: { info: log, warn: () => {} } });
  return { r, cuts, resumed, ids, told: told.promise };
}

/** "Hel", then an error event: a break after commit. */
const brokenAfterHel = (model: string) =>
  streamStep([
    chunk(model, { role: "assistant", content: "" }),
    chunk(model, "Hel"),
    streamErrorEvent({
      withChoices: true,
      code: 502,
      message: "provider fell over",
    }),
  ], "hang");

async function metric(r: ReturnType<typeof rig>, how: string) {
  const text = await (await r.request("/metrics")).text();
  return Number(
    new RegExp(`freerouter_streams_cut_total\\{how="${how}"\\} (\\d+)`)
      .exec(text)?.[1] ?? 0,
  );
}

Deno.test("createHandler() tells a stream broken for good (resumption off) once: a stream cut line with the request id, and the metric", async () => {
  const { r, cuts, ids } = cutRig(false);
  await using _ = r;
  r.fake.script(A, brokenAfterHel(A));
  const res = await r.chat(hello("auto", { stream: true }));
  const text = await res.text();
  assert.match(text, /broke off/);
  assert.equal(cuts.length, 1, JSON.stringify(cuts));
  assert.equal(cuts[0]!.how, "broken");
  assert.equal(cuts[0]!.model, A);
  assert.equal(cuts[0]!.request_id, ids[0]);
  assert.match(String(cuts[0]!.break), /provider fell over/);
  assert.equal(await metric(r, "broken"), 1);
});

Deno.test("createHandler() tells a stream the client stopped reading: client_closed", async () => {
  const { r, cuts, told } = cutRig(true);
  await using _ = r;
  const gate = deferred();
  r.fake.script(
    A,
    streamStep([
      chunk(A, { role: "assistant", content: "" }),
      chunk(A, "Hel"),
      () => gate.promise,
      chunk(A, "lo", "stop"),
      DONE,
    ]),
  );
  const res = await r.chat(hello("auto", { stream: true }));
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("Hel")) {
    const { value, done } = await within(reader.read(), "Hel");
    if (done) assert.fail(seen);
    seen += value;
  }
  await reader.cancel();
  await within(told, "the stream cut line");
  gate.resolve();
  assert.equal(cuts.length, 1, JSON.stringify(cuts));
  assert.equal(cuts[0]!.how, "client_closed");
  assert.equal(cuts[0]!.model, A);
  assert.equal(await metric(r, "client_closed"), 1);
});

Deno.test("createHandler() does not call a stream another model continued to its end cut; one whose continuation broke too is cut once", async () => {
  const { r, cuts, resumed, ids } = cutRig(true);
  await using _ = r;
  r.fake.script(A, brokenAfterHel(A));
  const whole = await r.chat(hello("auto", { stream: true }));
  assert.match(await whole.text(), /data: \[DONE\]/);
  assert.equal(cuts.length, 0, JSON.stringify(cuts));
  // The resumption's line names its request.
  assert.equal(resumed.length, 1, JSON.stringify(resumed));
  assert.equal(resumed[0]!.request_id, ids[0]);
  assert.equal(resumed[0]!.broken_model, A);
  r.fake.script(A, brokenAfterHel(A));
  r.fake.script(B, brokenAfterHel(B));
  for (const model of FREE_CHAT_IDS_IN_PRIORITY_ORDER.slice(2)) {
    r.fake.script(model, {
      status: 502,
      body: { error: { message: "x", code: 502 } },
    });
  }
  const cut = await r.chat(hello("auto", { stream: true }));
  assert.match(await cut.text(), /broke off/);
  assert.equal(cuts.length, 1, JSON.stringify(cuts));
  assert.equal(cuts[0]!.how, "broken");
  assert.equal(cuts[0]!.model, A, "the first stream's model");
});

Deno.test("createHandler() tells a client that stopped reading a continued stream once", async () => {
  const { r, cuts, told } = cutRig(true);
  await using _ = r;
  const gate = deferred();
  r.fake.script(A, brokenAfterHel(A));
  r.fake.script(
    B,
    streamStep([
      chunk(B, { role: "assistant", content: "" }),
      chunk(B, "lo there"),
      () => gate.promise,
      chunk(B, "!", "stop"),
      DONE,
    ]),
  );
  const res = await r.chat(hello("auto", { stream: true }));
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("lo there")) {
    const { value, done } = await within(reader.read(), "B's text");
    if (done) assert.fail(seen);
    seen += value;
  }
  await reader.cancel();
  await within(told, "the stream cut line");
  gate.resolve();
  await r.handler.close();
  assert.equal(cuts.length, 1, JSON.stringify(cuts));
  assert.equal(cuts[0]!.how, "client_closed");
});
