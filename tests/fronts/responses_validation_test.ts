import assert from "node:assert/strict";
import {
  parseResponsesRequest,
  toChatRequest,
} from "../../src/fronts/responses/request.ts";
import { parsed } from "./responses_helpers.ts";
import OpenAI from "openai";
import { rig } from "../_harness.ts";
import { openaiSdk } from "../_agent_fronts.ts";

function rejection(body: unknown): { message: string; param?: string } {
  const result = parseResponsesRequest(body);
  if (result.ok) assert.fail("expected a rejection");
  return result;
}

Deno.test("parseResponsesRequest() refuses previous_response_id and conversation as stateless", () => {
  for (
    const [body, param] of [
      [{ input: "x", previous_response_id: "resp_1" }, "previous_response_id"],
      [{ input: "x", conversation: "conv_1" }, "conversation"],
      [{ input: "x", conversation: { id: "conv_1" } }, "conversation"],
    ] as const
  ) {
    const result = rejection(body);
    assert.equal(result.param, param);
    assert.match(result.message, new RegExp(`^${param} is not supported`));
    assert.match(result.message, /stateless/);
  }
  // null means absent.
  assert.ok(
    parseResponsesRequest({ input: "x", previous_response_id: null }).ok,
  );
});

Deno.test("parseResponsesRequest() refuses item references, stored prompts, background runs and file ids", () => {
  const typed = rejection({ input: [{ type: "item_reference", id: "msg_1" }] });
  assert.equal(typed.param, "input[0]");
  assert.match(typed.message, /item_reference.*stateless/);
  const untyped = rejection({
    input: [{ role: "user", content: "a" }, { id: "msg_1" }],
  });
  assert.equal(untyped.param, "input[1]");

  assert.equal(
    rejection({ input: "x", prompt: { id: "pmpt_1" } }).param,
    "prompt",
  );
  assert.equal(rejection({ input: "x", background: true }).param, "background");

  const image = rejection({
    input: [{
      role: "user",
      content: [{ type: "input_text", text: "a" }, {
        type: "input_image",
        file_id: "file_1",
        detail: "auto",
      }],
    }],
  });
  assert.equal(image.param, "input[0].content[1].image_url");
  assert.match(image.message, /file_id/);
  const file = rejection({
    input: [{ role: "user", content: [{ type: "input_file", file_id: "f" }] }],
  });
  assert.equal(file.param, "input[0].content[0]");
  assert.match(file.message, /file_id/);
});

Deno.test("parseResponsesRequest() names the bad field of a malformed request", () => {
  assert.deepEqual(parseResponsesRequest([1]), {
    ok: false,
    message: "The request body must be a JSON object",
  });
  assert.equal(rejection({}).param, "input");
  assert.equal(rejection({ input: [] }).param, "input");
  assert.equal(rejection({ input: 5 }).param, "input");
  assert.equal(
    rejection({
      input: [{ type: "function_call", name: "f", arguments: "{}" }],
    })
      .param,
    "input[0].call_id",
  );
  assert.equal(
    rejection({ input: [{ role: "user", content: [{ type: "input_audio" }] }] })
      .param,
    "input[0].content[0].type",
  );
  assert.equal(
    rejection({ input: [{ role: "tool", content: "x" }] }).param,
    "input[0].role",
  );
  assert.equal(
    rejection({ input: "x", tools: [{ type: "function", parameters: {} }] })
      .param,
    "tools[0].name",
  );
  assert.equal(
    rejection({
      input: "x",
      tools: [{
        type: "namespace",
        name: "n",
        tools: [{ type: "web_search" }],
      }],
    }).param,
    "tools[0].tools[0].type",
  );
  assert.equal(
    rejection({ input: "x", max_output_tokens: 0 }).param,
    "max_output_tokens",
  );
  assert.equal(
    rejection({ input: "x", text: { format: { type: "json_schema" } } }).param,
    "text.format.name",
  );
});

Deno.test("parseResponsesRequest() drops untranslated input items and keeps hosted tools for the echo", () => {
  const request = parsed({
    input: [
      { type: "reasoning", id: "rs_1", summary: [] },
      { type: "web_search_call", id: "ws_1", status: "completed" },
      { type: "compaction", encrypted_content: "x" },
      { role: "user", content: "hi" },
    ],
    tools: [{ type: "web_search", search_context_size: "low" }],
  });
  assert.deepEqual(request.input, [
    { type: "dropped" },
    { type: "dropped" },
    { type: "dropped" },
    { type: "message", role: "user", content: "hi" },
  ]);
  assert.deepEqual(request.tools, [{
    type: "web_search",
    search_context_size: "low",
  }]);
  assert.deepEqual(toChatRequest(request).request.messages, [
    { role: "user", content: "hi" },
  ]);
});

Deno.test("the OpenAI SDK's calls on a stored response (retrieve, delete, input items, cancel) get OpenAI's 404 saying nothing is stored, behind the access key", async () => {
  await using r = rig({ accessKey: "fr-access-key-1" });
  const sdk = openaiSdk(r.handler, "fr-access-key-1");
  const calls: Array<[string, () => Promise<unknown>]> = [
    ["retrieve", () => sdk.responses.retrieve("resp_abc")],
    ["delete", () => sdk.responses.delete("resp_abc")],
    ["input items", () => sdk.responses.inputItems.list("resp_abc")],
    ["cancel", () => sdk.responses.cancel("resp_abc")],
  ];
  for (const [name, call] of calls) {
    const err = await call().then(
      () => assert.fail(`${name} succeeded`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof OpenAI.NotFoundError, `${name}: ${err}`);
    assert.match(
      err.message,
      /^404 Response with id 'resp_abc' not found: freerouter is stateless .* stores no responses \(a request's `store` is ignored\)$/,
      name,
    );
    assert.equal(err.code, "response_not_found", name);
  }
  // OpenAI's other Responses paths are no stored response.
  for (
    const path of [
      "/v1/responses/input_tokens",
      "/v1/responses/compact",
      "/v1/responses/resp_abc/other",
      "/v1/responses/a/b/c",
    ]
  ) {
    const res = await r.request(path, {
      method: "POST",
      headers: { authorization: "Bearer fr-access-key-1" },
    });
    assert.equal(res.status, 404, path);
    const { error } = await res.json();
    assert.equal(error.code, "not_found", path);
    assert.match(error.message, /^Unknown path/, path);
  }
  const anonymous = await r.request("/v1/responses/resp_abc");
  assert.equal(anonymous.status, 401);
  await anonymous.body?.cancel();
  assert.equal(r.fake.chatRequests().length, 0);
});
