/**
 * What reaches headers, log lines and startup errors from outside, from a
 * security audit of the real start command: client text in a header and in
 * a log line, credentials in a URL in a startup error, another provider's
 * key with bring your own key.
 */
import assert from "node:assert/strict";
import { hello, HELLO_ON_EVERY_FRONT, postJson, rig } from "./_harness.ts";
import { FREE_CHAT_IDS_IN_PRIORITY_ORDER, ok } from "./fake_openrouter/mod.ts";
import { consoleLogger } from "../src/server/logger.ts";
import { parseServerConfig } from "../src/server/config.ts";
import { openKv } from "../src/server/serve.ts";

const [A] = FREE_CHAT_IDS_IN_PRIORITY_ORDER as [string];

Deno.test("a dropped tool whose name holds a line break is listed with `?` in X-FreeRouter-Dropped-Tools, and the answer is not lost", async () => {
  await using r = rig();
  r.fake.script(A, ok(A, "Answered"));
  const res = await postJson(r, "/v1/responses", {
    model: "auto",
    input: "Hello",
    tools: [{ type: "web_search\nINFO forged" }],
  });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(
    res.headers.get("x-freerouter-dropped-tools"),
    "web_search?INFO forged",
  );
  await res.body?.cancel();
});

Deno.test("consoleLogger() (pretty) indents a message's later lines: text a client put in a message cannot start a log line", () => {
  const lines: string[] = [];
  const log = consoleLogger({ write: (line) => void lines.push(line) });
  log.error!(
    'Unexpected error: "x\n2026-12-07T00:00:00.000Z INFO request request_id=FORGED"',
  );
  assert.equal(lines.length, 1);
  const [first, ...rest] = lines[0]!.split("\n");
  assert.match(first!, / ERROR Unexpected error: "x$/);
  assert.deepEqual(rest, [
    '    2026-12-07T00:00:00.000Z INFO request request_id=FORGED"',
  ]);
});

Deno.test("startup errors leave out a URL's user name and password (OPENROUTER_BASE_URL, FREEROUTER_KV_PATH)", async () => {
  assert.throws(
    () =>
      parseServerConfig({
        OPENROUTER_API_KEY: "sk-or-v1-x",
        OPENROUTER_BASE_URL: "ftp://user:GATEWAYSECRET@x.example/api",
      }),
    (err: Error) => {
      assert.match(err.message, /OPENROUTER_BASE_URL/);
      assert.ok(!err.message.includes("GATEWAYSECRET"), err.message);
      return true;
    },
  );
  await assert.rejects(
    () => openKv("https://user:KVSECRET@127.0.0.1:1/kv"),
    (err: Error) => {
      assert.match(err.message, /FREEROUTER_KV_PATH/);
      assert.ok(!err.message.includes("KVSECRET"), err.message);
      return true;
    },
  );
});

Deno.test("with bring your own key, another provider's key is not sent upstream: 401 in the front's shape saying so", async () => {
  await using r = rig({ apiKey: undefined });
  for (const key of ["sk-ant-api03-ANTHROPICSECRET", "sk-proj-OPENAISECRET"]) {
    const res = await r.request("/v1/messages", {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": key },
      body: JSON.stringify(HELLO_ON_EVERY_FRONT[1]![1]),
    });
    const text = await res.text();
    assert.equal(res.status, 401, text);
    const body = JSON.parse(text);
    assert.equal(body.type, "error");
    assert.match(body.error.message, /another provider's API key/);
    assert.ok(!text.includes(key), text);
  }
  assert.equal(r.fake.chatRequests().length, 0);
  // An OpenRouter key still goes through.
  r.fake.script(A, ok(A, "Mine"));
  const res = await r.chat(hello(), {
    headers: { authorization: "Bearer sk-or-v1-client-own-key" },
  });
  assert.equal(res.status, 200);
  await res.body?.cancel();
});
