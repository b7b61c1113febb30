import assert from "node:assert/strict";
import type {
  MessageCreateParamsNonStreaming,
  MessageCreateParamsStreaming,
} from "@anthropic-ai/sdk/resources/messages";
import {
  parseMessagesRequest,
  toChatRequest,
} from "../../src/fronts/anthropic/request.ts";
import { rejection, translate, valid } from "./anthropic_helpers.ts";

const base64Png = "iVBORw0KGgo=";

/** What Claude Code 2.1.328 sends, reduced (see issue 22). */
const claudeCodeBody = {
  model: "claude-opus-5-5",
  max_tokens: 32000,
  stream: true,
  system: [
    { type: "text", text: "x-anthropic-billing-header: cc_version=2.1.328" },
    {
      type: "text",
      text: "You are Claude Code.",
      cache_control: { type: "ephemeral", ttl: "1h" },
    },
  ],
  messages: [
    {
      role: "user",
      content: [
        { type: "text", text: "<system-reminder>ctx</system-reminder>" },
        {
          type: "text",
          text: "List the files",
          cache_control: { type: "ephemeral" },
        },
      ],
    },
    { role: "system", content: "Mid-conversation instruction" },
    {
      role: "assistant",
      content: [
        { type: "thinking", thinking: "hmm", signature: "sig" },
        { type: "redacted_thinking", data: "opaque" },
        { type: "text", text: "Running ls." },
        {
          type: "tool_use",
          id: "toolu_01",
          name: "Bash",
          input: { command: "ls" },
        },
      ],
    },
    {
      role: "user",
      content: [
        {
          type: "tool_result",
          tool_use_id: "toolu_01",
          content: [{ type: "text", text: "a.txt\nb.txt" }],
        },
        { type: "text", text: "Now count them" },
      ],
    },
    {
      role: "system",
      content: [{ type: "text", text: "Block system", cache_control: null }],
    },
  ],
  tools: [
    {
      name: "Bash",
      description: "Run a command",
      input_schema: {
        type: "object",
        properties: { command: { type: "string" } },
        required: ["command"],
      },
    },
    {
      name: "Later",
      description: "Deferred",
      input_schema: { type: "object", properties: {} },
      defer_loading: true,
    },
    { type: "web_search_20250305", name: "web_search", max_uses: 5 },
    { type: "bash_20250124", name: "bash" },
  ],
  thinking: { type: "adaptive", display: "summarized" },
  context_management: { edits: [{ type: "clear_thinking_20251015" }] },
  output_config: { effort: "high" },
  metadata: { user_id: "user_abc_session_1" },
  container: "c1",
  mcp_servers: [],
  service_tier: "auto",
  some_future_field: { x: 1 },
};

Deno.test("toChatRequest() translates what Claude Code sends", () => {
  const result = translate(claudeCodeBody);
  assert.equal(result.prefersReasoning, true);
  assert.deepEqual(result.droppedTools, ["web_search", "bash"]);
  assert.deepEqual(result.request, {
    model: "claude-opus-5-5",
    max_tokens: 32000,
    stream: true,
    user: "user_abc_session_1",
    messages: [
      {
        role: "system",
        content:
          "x-anthropic-billing-header: cc_version=2.1.328\n\nYou are Claude Code.",
      },
      {
        role: "user",
        content: [
          { type: "text", text: "<system-reminder>ctx</system-reminder>" },
          { type: "text", text: "List the files" },
        ],
      },
      { role: "system", content: "Mid-conversation instruction" },
      {
        role: "assistant",
        content: "Running ls.",
        tool_calls: [{
          id: "toolu_01",
          type: "function",
          function: { name: "Bash", arguments: '{"command":"ls"}' },
        }],
      },
      { role: "tool", tool_call_id: "toolu_01", content: "a.txt\nb.txt" },
      { role: "user", content: "Now count them" },
      { role: "system", content: "Block system" },
    ],
    tools: [
      {
        type: "function",
        function: {
          name: "Bash",
          parameters: claudeCodeBody.tools[0]!.input_schema,
          description: "Run a command",
        },
      },
      {
        type: "function",
        function: {
          name: "Later",
          parameters: { type: "object", properties: {} },
          description: "Deferred",
        },
      },
    ],
  });
  // Dropped fields do not leak.
  const text = JSON.stringify(result.request);
  for (const dropped of ["cache_control", "context_management", "thinking"]) {
    assert.ok(!text.includes(dropped), dropped);
  }
});

Deno.test("parseMessagesRequest() accepts requests typed with the SDK's MessageCreateParams", () => {
  const streaming: MessageCreateParamsStreaming = {
    model: "claude-opus-5-5",
    max_tokens: 1024,
    stream: true,
    system: [{
      type: "text",
      text: "sys",
      cache_control: { type: "ephemeral" },
    }],
    messages: [
      { role: "system", content: [{ type: "text", text: "inner" }] },
      { role: "user", content: "hi" },
    ],
    tools: [{ name: "t", input_schema: { type: "object" } }],
    tool_choice: { type: "auto", disable_parallel_tool_use: true },
    thinking: { type: "enabled", budget_tokens: 2048 },
    stop_sequences: ["END"],
    metadata: { user_id: "u" },
  };
  const nonStreaming: MessageCreateParamsNonStreaming = {
    model: "auto",
    max_tokens: 10,
    messages: [{ role: "user", content: [{ type: "text", text: "x" }] }],
  };
  assert.ok(parseMessagesRequest(streaming).ok);
  assert.ok(parseMessagesRequest(nonStreaming).ok);
});

Deno.test("parseMessagesRequest() rejects a missing max_tokens with Anthropic's message", () => {
  assert.deepEqual(
    rejection({ model: "auto", messages: [{ role: "user", content: "x" }] }),
    { message: "max_tokens: Field required", param: "max_tokens" },
  );
  const wrong = rejection({
    model: "auto",
    max_tokens: "lots",
    messages: [{ role: "user", content: "x" }],
  });
  assert.equal(wrong.param, "max_tokens");
  assert.notEqual(wrong.message, "max_tokens: Field required");
});

Deno.test("parseMessagesRequest() requires a non-empty messages array", () => {
  assert.deepEqual(rejection({ max_tokens: 1, messages: [] }), {
    message: "messages: at least one message is required",
    param: "messages",
  });
  assert.equal(rejection({ max_tokens: 1 }).param, "messages");
  assert.equal(rejection({ max_tokens: 1, messages: "hi" }).param, "messages");
});

Deno.test("parseMessagesRequest() rejects a message without content, as Anthropic does, except a final assistant prefill", () => {
  for (const content of [[], ""]) {
    assert.deepEqual(
      rejection({
        max_tokens: 1,
        messages: [
          { role: "user", content: "hi" },
          { role: "assistant", content: "Hello" },
          { role: "user", content },
        ],
      }),
      {
        message:
          "messages.2.content: all messages must have non-empty content except for the optional final assistant message",
        param: "messages.2.content",
      },
    );
  }
  assert.ok(
    parseMessagesRequest({
      max_tokens: 1,
      messages: [
        { role: "user", content: "hi" },
        { role: "assistant", content: [] },
      ],
    }).ok,
    "a final empty assistant message is allowed",
  );
});

Deno.test("parseMessagesRequest() accepts only the user, assistant and system roles", () => {
  const bad = rejection({
    max_tokens: 1,
    messages: [{ role: "user", content: "a" }, { role: "tool", content: "b" }],
  });
  assert.equal(bad.param, "messages.1.role");
  assert.match(bad.message, /^messages\.1\.role: /);
});

Deno.test("parseMessagesRequest() rejects a body that is not a JSON object", () => {
  for (const body of [null, [], "x", 1]) {
    assert.deepEqual(rejection(body), {
      message: "The request body must be a JSON object",
      param: undefined,
    });
  }
});

Deno.test("parseMessagesRequest() names the field of a malformed block inside content", () => {
  const bad = rejection({
    max_tokens: 1,
    messages: [{
      role: "assistant",
      content: [{ type: "text", text: "ok" }, {
        type: "tool_use",
        name: "Bash",
        input: {},
      }],
    }],
  });
  assert.equal(bad.param, "messages.0.content.1.id");
  const badResult = rejection({
    max_tokens: 1,
    messages: [{
      role: "user",
      content: [{ type: "tool_result", tool_use_id: 7 }],
    }],
  });
  assert.equal(badResult.param, "messages.0.content.0.tool_use_id");
});

Deno.test("parseMessagesRequest() rejects image sources it cannot turn into a URL", () => {
  const bad = rejection({
    max_tokens: 1,
    messages: [{
      role: "user",
      content: [{ type: "image", source: { type: "file", file_id: "f" } }],
    }],
  });
  assert.match(bad.param!, /^messages\.0\.content\.0\.source/);
  assert.match(bad.message, /base64.*url/);
});

Deno.test("toChatRequest() drops block types it does not translate", () => {
  const { request } = translate({
    messages: [{
      role: "user",
      content: [
        { type: "container_upload", file_id: "f" },
        { type: "text", text: "kept" },
        { type: "some_future_block" },
      ],
    }, {
      role: "assistant",
      content: [{ type: "server_tool_use", id: "s", name: "web_search" }],
    }],
  });
  assert.deepEqual(request.messages, [{ role: "user", content: "kept" }]);
});

Deno.test("toChatRequest() turns a search result into text the model reads (title, source, text), on its own and inside a tool result", () => {
  const result = {
    type: "search_result",
    source: "https://docs.example/kv",
    title: "Deno KV",
    content: [{ type: "text", text: "KV is a store." }, {
      type: "text",
      text: "It is atomic.",
    }],
  };
  const { request } = translate({
    messages: [
      { role: "user", content: [result, { type: "text", text: "Sum up" }] },
      {
        role: "assistant",
        content: [{ type: "tool_use", id: "t1", name: "search", input: {} }],
      },
      {
        role: "user",
        content: [{
          type: "tool_result",
          tool_use_id: "t1",
          content: [result],
        }],
      },
    ],
  });
  const text =
    "Deno KV\nhttps://docs.example/kv\n\nKV is a store.\nIt is atomic.";
  assert.deepEqual(request.messages[0]!.content, [
    { type: "text", text },
    { type: "text", text: "Sum up" },
  ]);
  assert.deepEqual(request.messages[2], {
    role: "tool",
    tool_call_id: "t1",
    content: text,
  });
});

Deno.test("toChatRequest() keeps a document's title, context and images: text under its title and context, images as image_url parts, a PDF named with .pdf", () => {
  const { request } = translate({
    messages: [{
      role: "user",
      content: [
        {
          type: "document",
          title: "Notes",
          context: "From the wiki",
          source: { type: "text", media_type: "text/plain", data: "plain" },
        },
        {
          type: "document",
          title: "Chart",
          source: {
            type: "content",
            content: [{ type: "text", text: "c1" }, {
              type: "image",
              source: { type: "url", url: "https://x/c.png" },
            }],
          },
        },
        {
          type: "document",
          source: {
            type: "content",
            content: [{
              type: "image",
              source: { type: "url", url: "https://x/d.png" },
            }],
          },
        },
        {
          type: "document",
          title: "Report v1.2",
          context: "Quarterly",
          source: {
            type: "base64",
            media_type: "application/pdf",
            data: "JVBER",
          },
        },
      ],
    }],
  });
  assert.deepEqual(request.messages[0]!.content, [
    { type: "text", text: "Notes\nFrom the wiki\n\nplain" },
    { type: "text", text: "Chart\n\nc1" },
    { type: "image_url", image_url: { url: "https://x/c.png" } },
    { type: "image_url", image_url: { url: "https://x/d.png" } },
    { type: "text", text: "Quarterly" },
    {
      type: "file",
      file: {
        filename: "Report v1.2.pdf",
        file_data: "data:application/pdf;base64,JVBER",
      },
    },
  ]);
});

Deno.test("toChatRequest() turns base64 and url images into image_url parts", () => {
  const { request } = translate({
    messages: [{
      role: "user",
      content: [
        { type: "text", text: "What is this?" },
        {
          type: "image",
          source: { type: "base64", media_type: "image/png", data: base64Png },
        },
        { type: "image", source: { type: "url", url: "https://x/y.jpg" } },
      ],
    }],
  });
  assert.deepEqual(request.messages, [{
    role: "user",
    content: [
      { type: "text", text: "What is this?" },
      {
        type: "image_url",
        image_url: { url: `data:image/png;base64,${base64Png}` },
      },
      { type: "image_url", image_url: { url: "https://x/y.jpg" } },
    ],
  }]);
});

Deno.test("toChatRequest() turns documents into file or text parts", () => {
  const { request } = translate({
    messages: [{
      role: "user",
      content: [
        {
          type: "document",
          title: "spec.pdf",
          source: {
            type: "base64",
            media_type: "application/pdf",
            data: "JVBER",
          },
        },
        { type: "document", source: { type: "url", url: "https://x/a.pdf" } },
        {
          type: "document",
          source: { type: "text", media_type: "text/plain", data: "plain" },
        },
        {
          type: "document",
          source: {
            type: "content",
            content: [{ type: "text", text: "c1" }, {
              type: "text",
              text: "c2",
            }],
          },
        },
      ],
    }],
  });
  assert.deepEqual(request.messages[0]!.content, [
    {
      type: "file",
      file: {
        filename: "spec.pdf",
        file_data: "data:application/pdf;base64,JVBER",
      },
    },
    {
      type: "file",
      file: { filename: "document.pdf", file_data: "https://x/a.pdf" },
    },
    { type: "text", text: "plain" },
    { type: "text", text: "c1\nc2" },
  ]);
});

Deno.test("toChatRequest() drops thinking blocks and an assistant message left empty", () => {
  const { request } = translate({
    messages: [
      { role: "user", content: "q" },
      {
        role: "assistant",
        content: [{ type: "thinking", thinking: "t", signature: "s" }],
      },
      {
        role: "assistant",
        content: [
          { type: "text", text: "a" },
          { type: "redacted_thinking", data: "d" },
          { type: "text", text: "b" },
        ],
      },
    ],
  });
  assert.deepEqual(request.messages, [
    { role: "user", content: "q" },
    { role: "assistant", content: "a\n\nb" },
  ]);
});

Deno.test("toChatRequest() keeps string contents and the system string as they are", () => {
  const { request } = translate({
    system: "Be brief.",
    messages: [
      { role: "user", content: "hi" },
      { role: "assistant", content: "Hello" },
    ],
  });
  assert.deepEqual(request.messages, [
    { role: "system", content: "Be brief." },
    { role: "user", content: "hi" },
    { role: "assistant", content: "Hello" },
  ]);
});

Deno.test("toChatRequest() passes sampling fields, stop sequences, user and stream", () => {
  const { request } = translate({
    messages: [{ role: "user", content: "x" }],
    temperature: 0.2,
    top_p: 0.8,
    top_k: 20,
    stop_sequences: ["END", "\n\nHuman:"],
    metadata: { user_id: "u1" },
    stream: false,
  });
  assert.deepEqual(request, {
    model: "auto",
    messages: [{ role: "user", content: "x" }],
    max_tokens: 100,
    stream: false,
    temperature: 0.2,
    top_p: 0.8,
    top_k: 20,
    stop: ["END", "\n\nHuman:"],
    user: "u1",
  });
});

Deno.test("toChatRequest() keeps the client's model unchanged and omits a missing one", () => {
  assert.equal(
    translate({
      model: "qwen/qwen3-coder:free",
      messages: [{ role: "user", content: "x" }],
    })
      .request.model,
    "qwen/qwen3-coder:free",
  );
  const { request } = toChatRequest(valid({
    max_tokens: 5,
    messages: [{ role: "user", content: "x" }],
  }));
  assert.ok(!("model" in request));
  assert.ok(!("stream" in request));
});

Deno.test("toChatRequest() prefers reasoning for enabled and adaptive thinking, with a budget only when enabled", () => {
  const messages = [{ role: "user", content: "x" }];
  const enabled = translate({
    messages,
    thinking: { type: "enabled", budget_tokens: 4096 },
  });
  assert.equal(enabled.prefersReasoning, true);
  assert.deepEqual(enabled.request.reasoning, { max_tokens: 4096 });
  const adaptive = translate({ messages, thinking: { type: "adaptive" } });
  assert.equal(adaptive.prefersReasoning, true);
  assert.equal(adaptive.request.reasoning, undefined);
  const disabled = translate({ messages, thinking: { type: "disabled" } });
  assert.equal(disabled.prefersReasoning, false);
  assert.equal(disabled.request.reasoning, undefined);
  assert.equal(translate({ messages }).prefersReasoning, false);
});
