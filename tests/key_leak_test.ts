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
import { hello, rig } from "./_harness.ts";

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
