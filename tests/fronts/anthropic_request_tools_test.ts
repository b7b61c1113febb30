import assert from "node:assert/strict";
import { rejection, translate } from "./anthropic_helpers.ts";

Deno.test("toChatRequest() puts tool messages before the rest of their user message, in order", () => {
  const { request } = translate({
    messages: [
      {
        role: "assistant",
        content: [
          { type: "tool_use", id: "a", name: "A", input: {} },
          { type: "tool_use", id: "b", name: "B", input: { n: 1 } },
        ],
      },
      {
        role: "user",
        content: [
          { type: "text", text: "before" },
          { type: "tool_result", tool_use_id: "a", content: "ra" },
          { type: "text", text: "between" },
          { type: "tool_result", tool_use_id: "b", content: "rb" },
          { type: "text", text: "after" },
        ],
      },
    ],
  });
  assert.deepEqual(request.messages, [
    {
      role: "assistant",
      content: null,
      tool_calls: [
        { id: "a", type: "function", function: { name: "A", arguments: "{}" } },
        {
          id: "b",
          type: "function",
          function: { name: "B", arguments: '{"n":1}' },
        },
      ],
    },
    { role: "tool", tool_call_id: "a", content: "ra" },
    { role: "tool", tool_call_id: "b", content: "rb" },
    {
      role: "user",
      content: [
        { type: "text", text: "before" },
        { type: "text", text: "between" },
        { type: "text", text: "after" },
      ],
    },
  ]);
});

Deno.test("toChatRequest() keeps is_error in the tool message's text", () => {
  const { request } = translate({
    messages: [{
      role: "user",
      content: [
        {
          type: "tool_result",
          tool_use_id: "a",
          is_error: true,
          content: "command not found",
        },
        {
          type: "tool_result",
          tool_use_id: "b",
          is_error: false,
          content: "ok",
        },
      ],
    }],
  });
  assert.deepEqual(request.messages, [
    { role: "tool", tool_call_id: "a", content: "Error: command not found" },
    { role: "tool", tool_call_id: "b", content: "ok" },
  ]);
});

Deno.test("toChatRequest() flattens tool result blocks to text and moves their images to a user message, each after a line naming its call; a result of an image only says where it went", () => {
  const { request } = translate({
    messages: [{
      role: "user",
      content: [
        {
          type: "tool_result",
          tool_use_id: "a",
          content: [
            { type: "text", text: "line 1" },
            {
              type: "image",
              source: { type: "base64", media_type: "image/png", data: "AA" },
            },
            { type: "tool_reference", tool_name: "x" },
            { type: "text", text: "line 2" },
          ],
        },
        { type: "tool_result", tool_use_id: "b" },
        { type: "tool_result", tool_use_id: "c", content: [] },
        {
          type: "tool_result",
          tool_use_id: "d",
          content: [{
            type: "image",
            source: { type: "url", url: "https://x/d.png" },
          }],
        },
      ],
    }],
  });
  assert.deepEqual(request.messages, [
    { role: "tool", tool_call_id: "a", content: "line 1\nline 2" },
    { role: "tool", tool_call_id: "b", content: "" },
    { role: "tool", tool_call_id: "c", content: "" },
    {
      role: "tool",
      tool_call_id: "d",
      content: "(The result is attached to the next message.)",
    },
    {
      role: "user",
      content: [
        { type: "text", text: "Result of tool call a:" },
        {
          type: "image_url",
          image_url: { url: "data:image/png;base64,AA" },
        },
        { type: "text", text: "Result of tool call d:" },
        { type: "image_url", image_url: { url: "https://x/d.png" } },
      ],
    },
  ]);
});

Deno.test("toChatRequest() maps tool_choice and disable_parallel_tool_use", () => {
  const tools = [{ name: "T", input_schema: { type: "object" } }];
  const messages = [{ role: "user", content: "x" }];
  const cases: Array<[unknown, unknown, boolean]> = [
    [{ type: "auto" }, "auto", false],
    [{ type: "any" }, "required", false],
    [{ type: "none" }, "none", false],
    [
      { type: "tool", name: "T" },
      { type: "function", function: { name: "T" } },
      false,
    ],
    [{ type: "auto", disable_parallel_tool_use: true }, "auto", true],
    [{ type: "any", disable_parallel_tool_use: true }, "required", true],
  ];
  for (const [choice, expected, noParallel] of cases) {
    const { request } = translate({ tools, messages, tool_choice: choice });
    assert.deepEqual(request.tool_choice, expected, JSON.stringify(choice));
    assert.equal(
      request.parallel_tool_calls,
      noParallel ? false : undefined,
      JSON.stringify(choice),
    );
  }
  assert.equal(
    rejection({
      max_tokens: 1,
      messages,
      tool_choice: { type: "sometimes" },
    }).param,
    "tool_choice.type",
  );
});

Deno.test("toChatRequest() leaves tools and tool_choice out when only server tools were sent", () => {
  const result = translate({
    messages: [{ role: "user", content: "x" }],
    tools: [{ type: "web_search_20250305", name: "web_search" }],
    tool_choice: { type: "any", disable_parallel_tool_use: true },
  });
  assert.deepEqual(result.droppedTools, ["web_search"]);
  assert.equal(result.request.tools, undefined);
  assert.equal(result.request.tool_choice, undefined);
  assert.equal(result.request.parallel_tool_calls, undefined);
});
