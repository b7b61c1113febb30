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

Deno.test("notAnAnswer(): a tool call the client's own length limit cut is the answer it allowed; one a model's cap cut is that model's failure", () => {
  const cut = {
    message: {
      content: "Checking.",
      tool_calls: [{ function: { name: "f", arguments: '{"city":"Pa' } }],
    },
    finish_reason: "length",
  };
  assert.equal(notAnAnswer(cut, true), undefined);
  assert.equal(noAnswerIn([cut], true), undefined);
  assert.equal(notAnAnswer(cut), "invalid_tool_call");
  assert.equal(noAnswerIn([cut]), "invalid_tool_call");
  assert.equal(
    notAnAnswer({ ...cut, finish_reason: "tool_calls" }, true),
    "invalid_tool_call",
  );
  // Empty content cut by the limit stays an answer either way.
  const empty = { message: { content: "" }, finish_reason: "length" };
  assert.equal(notAnAnswer(empty), undefined);
  assert.equal(notAnAnswer(empty, true), undefined);
});

/** A's 200 whose tool call the length limit cut, and B's answer. */
function cutToolCall(r: ReturnType<typeof rig>) {
  const step = withToolCall(A, '{"q": "x');
  const body = step.body as { choices: Array<Record<string, unknown>> };
  body.choices[0]!.finish_reason = "length";
  r.fake.script(A, step);
  r.fake.script(B, ok(B, "A real answer"));
}

Deno.test("a non-streaming 200 whose tool call the client's max_tokens cut goes to the client in one attempt, with its finish_reason (the next model would meet the same limit)", async () => {
  await using r = rig({ strategy: "priority" });
  cutToolCall(r);
  const res = await r.chat(hello("auto", { max_tokens: 8 }));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-freerouter-model"), A);
  assert.equal(res.headers.get("x-freerouter-attempts"), "1");
  const answer = await jsonOf(res) as {
    choices: Array<{
      finish_reason: string;
      message: { tool_calls: Array<{ function: { arguments: string } }> };
    }>;
  };
  assert.equal(answer.choices[0]!.finish_reason, "length");
  assert.equal(
    answer.choices[0]!.message.tool_calls[0]!.function.arguments,
    '{"q": "x',
  );
  assert.equal(r.fake.chatRequests().length, 1);
});

Deno.test("a non-streaming 200 whose tool call a limit the client did not set cut falls back: another model may have room", async () => {
  await using r = rig({ strategy: "priority" });
  cutToolCall(r);
  const res = await r.chat(hello());
  assert.equal(res.headers.get("x-freerouter-model"), B);
  assert.equal(res.headers.get("x-freerouter-attempts"), "2");
  await res.body?.cancel();
});
