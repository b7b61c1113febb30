/**
 * The body each attempt sends (`bodyForModels`): the model spliced in, the
 * client's fields kept, OpenRouter's own fallback fields dropped, and a
 * clamped budget that leaves the answer room next to the thinking.
 */
import assert from "node:assert/strict";
import { bodyForModels } from "../src/core/request_body.ts";
import type { ChatCompletionRequest } from "../src/types.ts";

const messages = [{ role: "user" as const, content: "hi" }];

Deno.test("bodyForModels(): the model replaced, the client's fields kept, models and route dropped", () => {
  const write = bodyForModels({
    model: "auto",
    models: ["paid/model"],
    route: "fallback",
    messages,
    temperature: 0.2,
  } as ChatCompletionRequest);
  assert.deepEqual(JSON.parse(write("a/b:free")), {
    model: "a/b:free",
    messages,
    temperature: 0.2,
  });
});

Deno.test("bodyForModels(): a clamped max_tokens replaces max_tokens and max_completion_tokens", () => {
  const write = bodyForModels({
    model: "auto",
    messages,
    max_tokens: 32_000,
    max_completion_tokens: 32_000,
  } as ChatCompletionRequest);
  assert.deepEqual(JSON.parse(write("a/b:free", 8_192)), {
    model: "a/b:free",
    max_tokens: 8_192,
    messages,
  });
  assert.equal(JSON.parse(write("a/b:free")).max_tokens, 32_000);
});

Deno.test("bodyForModels(): a reasoning budget the clamped max_tokens no longer exceeds is lowered to half of it", () => {
  const write = bodyForModels({
    model: "auto",
    messages,
    max_tokens: 32_000,
    reasoning: { max_tokens: 31_999, exclude: false },
  } as ChatCompletionRequest);
  const clamped = JSON.parse(write("small/cap:free", 8_192));
  assert.equal(clamped.max_tokens, 8_192);
  assert.deepEqual(clamped.reasoning, { max_tokens: 4_096, exclude: false });
  // A budget that still fits is kept.
  const roomy = JSON.parse(write("large/cap:free", 32_000));
  assert.deepEqual(roomy.reasoning, { max_tokens: 31_999, exclude: false });
  // Without a clamp the request is sent as it came.
  assert.equal(JSON.parse(write("x/y:free")).reasoning.max_tokens, 31_999);
});

Deno.test("bodyForModels(): parseFiles adds OpenRouter's free PDF parser, on every path, and adds it to a client's other plugins, and leaves a client's own file parser alone", () => {
  const plugins = [{ id: "file-parser", pdf: { engine: "cloudflare-ai" } }];
  const write = bodyForModels({
    model: "auto",
    messages,
    reasoning: { max_tokens: 4_000 },
  } as ChatCompletionRequest);
  assert.equal(JSON.parse(write("a/b:free")).plugins, undefined);
  assert.deepEqual(
    JSON.parse(write("a/b:free", undefined, true)).plugins,
    plugins,
  );
  assert.deepEqual(JSON.parse(write("a/b:free", 8_000, true)).plugins, plugins);
  // A clamp below the thinking budget writes the body another way.
  const clamped = JSON.parse(write("a/b:free", 2_000, true));
  assert.deepEqual(clamped.plugins, plugins);
  assert.equal(clamped.reasoning.max_tokens, 1_000);

  // A client's own file parser stands; other plugins get the parser added.
  const own = [{ id: "file-parser", pdf: { engine: "mistral-ocr" } }];
  const theirs = bodyForModels({
    model: "auto",
    messages,
    plugins: own,
  } as ChatCompletionRequest);
  assert.deepEqual(
    JSON.parse(theirs("a/b:free", undefined, true)).plugins,
    own,
  );
  assert.deepEqual(JSON.parse(theirs("a/b:free", 100, true)).plugins, own);
  const web = [{ id: "web" }];
  const other = bodyForModels({
    model: "auto",
    messages,
    plugins: web,
  } as ChatCompletionRequest);
  assert.deepEqual(JSON.parse(other("a/b:free", 100, true)).plugins, [
    ...web,
    ...plugins,
  ]);
  assert.deepEqual(JSON.parse(other("a/b:free", 100)).plugins, web);
});
