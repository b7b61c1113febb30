/**
 * `GET /v1/models/{id}`: one entry of `GET /v1/models`, exactly as the list
 * shows it, for the official SDKs' `models.retrieve()` (OpenAI's shape, or
 * Anthropic's when the request carries `anthropic-version`), behind the same
 * access key as the list.
 */
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { ALIAS_IDS, rig } from "./_harness.ts";
import { anthropicSdk, openaiSdk } from "./_agent_fronts.ts";

/** A pool model whose id has a slash and a colon. */
const QWEN = "qwen/qwen3-coder:free";

/** A user-defined alias. */
const CUSTOM = { "my:coder": ["qwen/*"] };

const UNKNOWN = "nobody/no-such-model:free";

const ACCESS_KEY = "let-me-in";

/** The list holds pool models (the first one is {@link QWEN}), then every alias. */
function assertListsAll(ids: readonly string[]): void {
  assert.equal(ids[0], QWEN);
  assert.deepEqual(ids.slice(-ALIAS_IDS.length - 1), [
    ...ALIAS_IDS,
    "my:coder",
  ]);
  assert.ok(ids.length > ALIAS_IDS.length + 2, "several pool models");
}

/** Every model an SDK lists, retrieved alone, is the entry the list shows. */
async function assertRetrievedAsListed(models: {
  list(): PromiseLike<{ data: Array<{ id: string }> }>;
  retrieve(id: string): PromiseLike<object>;
}): Promise<void> {
  const list = (await models.list()).data;
  assertListsAll(list.map((m) => m.id));
  for (const listed of list) {
    const retrieved = await models.retrieve(listed.id);
    assert.deepEqual({ ...retrieved }, { ...listed }, listed.id);
  }
}

Deno.test("models.retrieve() (OpenAI SDK) returns each pool model and alias exactly as /v1/models lists it", async () => {
  await using r = rig({ aliases: CUSTOM });
  const client = openaiSdk(r.handler);
  await assertRetrievedAsListed(client.models);
  const qwen = await client.models.retrieve(QWEN);
  assert.equal(qwen.id, QWEN);
  assert.equal(qwen.object, "model");
  assert.equal(qwen.owned_by, "qwen");
  const auto = await client.models.retrieve("auto");
  assert.deepEqual([auto.id, auto.owned_by], ["auto", "freerouter"]);
  const custom = await client.models.retrieve("my:coder");
  assert.deepEqual([custom.id, custom.owned_by], ["my:coder", "freerouter"]);
  assert.equal(r.fake.chatRequests().length, 0);
});

Deno.test("models.retrieve('openrouter/auto') (both SDKs) returns auto's entry under that name, since it routes as auto; the list does not repeat it", async () => {
  await using r = rig();
  const openai = openaiSdk(r.handler);
  const auto = await openai.models.retrieve("auto");
  const synonym = await openai.models.retrieve("openrouter/auto");
  assert.deepEqual({ ...synonym }, { ...auto, id: "openrouter/auto" });
  const anthropic = anthropicSdk(r.handler);
  const anthropicAuto = await anthropic.models.retrieve("auto");
  const anthropicSynonym = await anthropic.models.retrieve("openrouter/auto");
  assert.deepEqual({ ...anthropicSynonym }, {
    ...anthropicAuto,
    id: "openrouter/auto",
  });
  const ids = (await openai.models.list()).data.map((m) => m.id);
  assert.ok(ids.includes("auto"));
  assert.ok(!ids.includes("openrouter/auto"));
});

Deno.test("models.retrieve() (Anthropic SDK, anthropic-version sent) returns each pool model and alias in Anthropic's shape, as models.list() shows it", async () => {
  await using r = rig({ aliases: CUSTOM });
  const client = anthropicSdk(r.handler);
  await assertRetrievedAsListed(client.models);
  const qwen = await client.models.retrieve(QWEN);
  assert.deepEqual(Object.keys(qwen).sort(), [
    "created_at",
    "display_name",
    "id",
    "type",
  ]);
  assert.equal(qwen.type, "model");
  assert.equal(qwen.display_name, "Qwen: Qwen3 Coder 480B A35B (free)");
  const coding = await client.models.retrieve("auto:coding");
  assert.equal(coding.id, "auto:coding");
  assert.match(coding.display_name, /^freerouter: .*coding/i);
  const custom = await client.models.retrieve("my:coder");
  assert.equal(custom.display_name, "freerouter: qwen/*");
});

Deno.test("models.retrieve() (OpenAI SDK) of an unknown id throws NotFoundError: 404 model_not_found naming the id", async () => {
  await using r = rig();
  const err = await openaiSdk(r.handler).models.retrieve(UNKNOWN).then(
    () => assert.fail("retrieved an unknown model"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof OpenAI.NotFoundError, String(err));
  assert.equal(err.status, 404);
  assert.equal(err.type, "invalid_request_error");
  assert.equal(err.code, "model_not_found");
  assert.equal(err.param, "model");
  assert.ok(err.message.includes(`'${UNKNOWN}'`), err.message);
});

Deno.test("models.retrieve() (Anthropic SDK) of an unknown id throws NotFoundError in Anthropic's error shape naming the id", async () => {
  await using r = rig();
  const err = await anthropicSdk(r.handler).models.retrieve(UNKNOWN).then(
    () => assert.fail("retrieved an unknown model"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof Anthropic.NotFoundError, String(err));
  assert.equal(err.status, 404);
  const body = err.error as {
    type: string;
    error: { type: string; message: string };
  };
  assert.equal(body.type, "error");
  assert.equal(body.error.type, "not_found_error");
  assert.ok(body.error.message.includes(`'${UNKNOWN}'`), body.error.message);
});

Deno.test("createHandler() answers GET and HEAD /models/{id} with or without /v1, the id as the raw or percent-encoded rest of the path", async () => {
  await using r = rig();
  const list = await (await r.request("/v1/models")).json() as {
    data: Array<{ id: string }>;
  };
  const listed = list.data.find((m) => m.id === QWEN);
  for (
    const path of [
      `/v1/models/${QWEN}`,
      `/models/${QWEN}`,
      `/v1/models/${encodeURIComponent(QWEN)}`,
      `/models/${QWEN}/`,
    ]
  ) {
    const res = await r.request(path);
    assert.equal(res.status, 200, path);
    assert.deepEqual(await res.json(), listed, path);
  }
  const head = await r.request(`/v1/models/${QWEN}`, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("content-type"), "application/json");
  await head.body?.cancel();
  const post = await r.request("/v1/models/auto", {
    method: "POST",
    body: "{}",
  });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET, HEAD");
  await post.body?.cancel();
});

Deno.test("createHandler() guards GET /v1/models/{id} with the access key, like the list", async () => {
  await using r = rig({ accessKey: ACCESS_KEY });
  for (const path of ["/v1/models", "/v1/models/auto", `/models/${QWEN}`]) {
    const res = await r.request(path);
    assert.equal(res.status, 401, path);
    const body = await res.json() as { error: { code: string } };
    assert.equal(body.error.code, "invalid_api_key", path);
  }
  await assert.rejects(
    openaiSdk(r.handler, "wrong-key").models.retrieve("auto"),
    OpenAI.AuthenticationError,
  );
  await assert.rejects(
    anthropicSdk(r.handler, { apiKey: "wrong-key" }).models.retrieve("auto"),
    Anthropic.AuthenticationError,
  );
  const openai = await openaiSdk(r.handler, ACCESS_KEY).models.retrieve(QWEN);
  assert.equal(openai.id, QWEN);
  const anthropic = await anthropicSdk(r.handler, { apiKey: ACCESS_KEY })
    .models.retrieve("auto");
  assert.equal(anthropic.type, "model");
  assert.equal(anthropic.id, "auto");
});
