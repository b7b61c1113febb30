/**
 * Client counts in KV: one commit per request while this instance is the
 * only writer, a fresh read only after another instance wrote.
 */
import assert from "node:assert/strict";
import { ClientUsage } from "../src/state/client_usage.ts";
import type { KvLike } from "../src/state/kv_types.ts";

/** A KV handle that counts its reads. */
function counting(kv: Deno.Kv): { kv: KvLike; reads: () => number } {
  let reads = 0;
  const wrapped: KvLike = {
    get: (key) => {
      reads++;
      return kv.get(key as Deno.KvKey);
    },
    set: (key, value, options) => kv.set(key as Deno.KvKey, value, options),
    list: (selector) => kv.list({ prefix: selector.prefix as Deno.KvKey }),
    atomic: () => kv.atomic() as unknown as ReturnType<KvLike["atomic"]>,
    close: () => kv.close(),
  };
  return { kv: wrapped, reads: () => reads };
}

Deno.test("ClientUsage.take() reads a client's counts again only after another instance wrote them", async () => {
  using kv = await Deno.openKv(":memory:");
  const one = counting(kv);
  const two = counting(kv);
  const a = new ClientUsage(one.kv, () => {});
  const b = new ClientUsage(two.kv, () => {});
  const limits = { perMinute: 10 };
  const now = Date.parse("2026-11-24T12:00:00Z");
  assert.equal((await a.take("alice", limits, now)).ok, true);
  assert.equal(one.reads(), 1, "the first request reads the counts");
  for (let i = 0; i < 3; i++) await a.take("alice", limits, now);
  assert.equal(one.reads(), 1, "then commits against what it wrote");
  const other = await b.take("alice", limits, now);
  assert.equal(other.ok, true);
  assert.equal(
    other.ok && other.counts.minuteCount,
    5,
    "b counts on a's writes",
  );
  const next = await a.take("alice", limits, now);
  assert.equal(one.reads(), 2, "b wrote since: a reads again");
  assert.equal(next.ok && next.counts.minuteCount, 6, "and counts on b's");
});
