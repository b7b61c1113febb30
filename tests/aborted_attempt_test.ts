/**
 * A request the client abandons while its attempt is out: the attempt was
 * sent all the same, so the request's record, its log line and the
 * attempts metric count it (outcome `aborted`).
 */
import assert from "node:assert/strict";
import { deferred, within } from "./_async.ts";
import { hello, rig } from "./_harness.ts";
import { FREE_CHAT_IDS_IN_PRIORITY_ORDER } from "./fake_openrouter/mod.ts";

const [A, B] = FREE_CHAT_IDS_IN_PRIORITY_ORDER as [string, string];

Deno.test("createHandler() records the attempts of a request the client abandoned, the one in flight as aborted", async () => {
  const lines: Array<Record<string, unknown>> = [];
  const log = (message: string, fields?: Record<string, unknown>) =>
    void (message === "request" && lines.push(fields ?? {}));
  await using r = rig({ logger: { info: log, warn: () => {} } });
  const arrived = deferred();
  const release = deferred();
  r.fake.script(A, {
    status: 502,
    body: { error: { message: "x", code: 502 } },
  });
  r.fake.script(B, {
    gate: () => (arrived.resolve(), release.promise),
    body: { never: "sent" },
  });
  const controller = new AbortController();
  const pending = r.chat(hello(), { signal: controller.signal });
  await within(arrived.promise, "the second attempt reaching the upstream");
  controller.abort();
  const res = await pending.catch((err) => err);
  release.resolve();
  if (res instanceof Response) await res.body?.cancel();
  await r.handler.close();
  const line = lines.find((l) => l.error === "aborted");
  assert.ok(line, JSON.stringify(lines));
  assert.match(String(line.attempts), new RegExp(`${A}=502.*${B}=aborted`));
  const metrics = await (await r.request("/metrics")).text();
  assert.match(
    metrics,
    new RegExp(
      `freerouter_upstream_attempts_total\\{model="${
        B.replace(/[.]/g, "\\.")
      }",class="aborted"\\} 1`,
    ),
  );
});

Deno.test("createHandler() records the attempts of a request the client abandoned while it waited to try its named model again", async () => {
  const lines: Array<Record<string, unknown>> = [];
  const log = (message: string, fields?: Record<string, unknown>) =>
    void (message === "request" && lines.push(fields ?? {}));
  const waiting = deferred();
  await using r = rig({
    logger: { info: log, warn: () => {} },
    sameModelWait: 10,
    // The wait for the named model's reset: told when it starts, ended only by the abort.
    sleep: (_ms, signal) => {
      waiting.resolve();
      return new Promise((_, reject) =>
        signal?.addEventListener("abort", () => reject(signal.reason))
      );
    },
  });
  r.fake.script(A, {
    status: 429,
    headers: { "retry-after": "2" },
    body: {
      error: { message: `Rate limit exceeded: limit_rpm/${A}`, code: 429 },
    },
  });
  const controller = new AbortController();
  const pending = r.chat(hello(A), { signal: controller.signal });
  await within(waiting.promise, "the wait for the named model");
  controller.abort();
  const res = await pending.catch((err) => err);
  if (res instanceof Response) await res.body?.cancel();
  await r.handler.close();
  const line = lines.find((l) => l.error === "aborted");
  assert.ok(line, JSON.stringify(lines));
  assert.equal(String(line.attempts), `${A}=429`);
});
