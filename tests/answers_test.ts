/**
 * Answers that are not answers fall back before commit: a 200 with empty
 * content and no tool call (not cut at the length limit), or a tool call
 * whose arguments are not JSON, counts as that model's failure.
 */
import assert from "node:assert/strict";
import { noAnswerIn, notAnAnswer } from "../src/core/answers.ts";
import { hello, jsonOf, rig } from "./_harness.ts";
import {
  completionBody,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER,
  ok,
} from "./fake_openrouter/mod.ts";

const [A, B] = FREE_CHAT_IDS_IN_PRIORITY_ORDER as [string, string];

function withToolCall(model: string, args: string) {
  const body = completionBody(model, null);
  const choice = (body.choices as Array<Record<string, unknown>>)[0]!;
  choice.finish_reason = "tool_calls";
  (choice.message as Record<string, unknown>).tool_calls = [{
    id: "call_1",
    type: "function",
    function: { name: "lookup", arguments: args },
  }];
  return { status: 200, body };
}

Deno.test("notAnAnswer(): empty content, unparseable tool arguments; not a length stop, a tool call, a refusal or text", () => {
  const choice = (message: unknown, finish_reason = "stop") => ({
    message,
    finish_reason,
  });
  assert.equal(notAnAnswer(choice({ content: "" })), "empty_answer");
  assert.equal(notAnAnswer(choice({ content: null })), "empty_answer");
  assert.equal(notAnAnswer(choice({ content: "  \n" })), "empty_answer");
  assert.equal(notAnAnswer(choice({ content: "" }, "length")), undefined);
  assert.equal(notAnAnswer(choice({ content: "Hi" })), undefined);
  // A refusal is the model's answer, as in a stream's opening.
  assert.equal(
    notAnAnswer(choice({ content: null, refusal: "I can't help with that." })),
    undefined,
  );
  assert.equal(
    notAnAnswer(choice({ content: null, refusal: " " })),
    "empty_answer",
  );
  assert.equal(
    notAnAnswer(choice({
      content: null,
      function_call: { name: "f", arguments: "{}" },
    })),
    undefined,
  );
  assert.equal(
    notAnAnswer(choice({
      content: null,
      tool_calls: [{ function: { name: "f", arguments: '{"a":1}' } }],
    })),
    undefined,
  );
  assert.equal(
    notAnAnswer(choice({
      content: null,
      tool_calls: [{ function: { name: "f", arguments: '{"a":' } }],
    })),
    "invalid_tool_call",
  );
});

Deno.test("noAnswerIn(): with n > 1 one good choice is an answer; an unparseable tool call in any choice is not", () => {
  const empty = { message: { content: "" }, finish_reason: "stop" };
  const text = { message: { content: "Hi" }, finish_reason: "stop" };
  const broken = {
    message: {
      content: null,
      tool_calls: [{ function: { name: "f", arguments: '{"a":' } }],
    },
    finish_reason: "tool_calls",
  };
  assert.equal(noAnswerIn([empty, text]), undefined);
  assert.equal(noAnswerIn([text]), undefined);
  assert.equal(noAnswerIn([empty, empty]), "empty_answer");
  assert.equal(noAnswerIn([empty]), "empty_answer");
  assert.equal(noAnswerIn([text, broken]), "invalid_tool_call");
});

Deno.test("a non-streaming 200 with n = 2 whose first choice is empty and second has text is an answer", async () => {
  await using r = rig({ strategy: "priority" });
  const body = completionBody(A, "") as { choices: unknown[] };
  body.choices.push({
    index: 1,
    message: { role: "assistant", content: "The second choice" },
    finish_reason: "stop",
  });
  r.fake.script(A, { status: 200, body });
  const res = await r.chat(hello("auto", { n: 2 }));
  assert.equal(res.headers.get("x-freerouter-model"), A);
  assert.equal(res.headers.get("x-freerouter-attempts"), "1");
  const answer = await jsonOf(res) as {
    choices: Array<{ message: { content: string } }>;
  };
  assert.equal(answer.choices[1]!.message.content, "The second choice");
});

for (
  const [what, step] of [
    ["empty content", ok(A, "")],
    ["a tool call with unparseable arguments", withToolCall(A, '{"q": "x"')],
  ] as const
) {
  Deno.test(`a non-streaming 200 with ${what} falls back to the next model`, async () => {
    await using r = rig({ strategy: "priority" });
    r.fake.script(A, step);
    r.fake.script(B, ok(B, "A real answer"));
    const res = await r.chat(hello());
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-freerouter-model"), B);
    assert.equal(res.headers.get("x-freerouter-attempts"), "2");
    const body = await jsonOf(res) as {
      choices: Array<{ message: { content: string } }>;
    };
    assert.equal(body.choices[0]!.message.content, "A real answer");
  });
}

Deno.test("a non-streaming 200 with a valid tool call and no content is an answer", async () => {
  await using r = rig({ strategy: "priority" });
  r.fake.script(A, withToolCall(A, '{"q": "x"}'));
  const res = await r.chat(hello());
  assert.equal(res.headers.get("x-freerouter-model"), A);
  assert.equal(res.headers.get("x-freerouter-attempts"), "1");
  await res.body?.cancel();
});
