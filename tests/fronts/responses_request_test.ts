import assert from "node:assert/strict";
import type {
  ResponseCreateParamsStreaming,
  ResponseInputItem,
  Tool,
} from "openai/resources/responses/responses";
import { toChatRequest } from "../../src/fronts/responses/request.ts";
import { parsed } from "./responses_helpers.ts";

function chat(body: Record<string, unknown>) {
  return toChatRequest(parsed(body));
}

Deno.test("toChatRequest() turns string input into one user message, model and stream as sent", () => {
  const { request, prefersReasoning, droppedTools } = chat({
    model: "auto",
    input: "Hello",
  });
  assert.deepEqual(request, {
    model: "auto",
    messages: [{ role: "user", content: "Hello" }],
    stream: false,
  });
  assert.equal(prefersReasoning, false);
  assert.deepEqual(droppedTools, []);
  const streaming = chat({ input: "Hi", stream: true }).request;
  assert.equal(streaming.stream, true);
  assert.equal("model" in streaming, false);
});

Deno.test("toChatRequest() puts instructions first, then developer and system messages in order", () => {
  const { request } = chat({
    instructions: "Be brief.",
    input: [
      { role: "developer", content: "Dev rules" },
      { role: "user", content: [{ type: "input_text", text: "Q1" }] },
      { type: "message", role: "system", content: "Sys note" },
    ],
  });
  assert.deepEqual(request.messages, [
    { role: "system", content: "Be brief." },
    { role: "system", content: "Dev rules" },
    { role: "user", content: "Q1" },
    { role: "system", content: "Sys note" },
  ]);
});

Deno.test("toChatRequest() translates what Codex sends: developer prompt, tool history, tools and options", () => {
  const input: ResponseInputItem[] = [
    {
      type: "message",
      role: "developer",
      content: [{ type: "input_text", text: "You are Codex." }],
    },
    {
      type: "message",
      role: "user",
      content: [
        { type: "input_text", text: "<environment_context/>" },
        { type: "input_text", text: "list files" },
      ],
    },
    { type: "reasoning", id: "rs_1", summary: [], encrypted_content: "xyz" },
    {
      type: "function_call",
      id: "fc_1",
      call_id: "call_1",
      name: "exec_command",
      arguments: '{"cmd":"ls"}',
    },
    { type: "function_call_output", call_id: "call_1", output: "a.txt" },
    {
      type: "message",
      role: "assistant",
      id: "msg_1",
      status: "completed",
      content: [{ type: "output_text", text: "One file.", annotations: [] }],
    },
  ];
  const tools = [
    {
      type: "function",
      name: "exec_command",
      description: "Run a command",
      strict: false,
      parameters: {
        type: "object",
        properties: { cmd: { type: "string" } },
        required: ["cmd"],
      },
    },
    { type: "web_search" },
    { type: "tool_search" },
    {
      type: "custom",
      name: "apply_patch",
      description: "Edit files",
      format: { type: "grammar", syntax: "lark", definition: "start: x" },
    },
  ] as unknown as Tool[];
  const body: ResponseCreateParamsStreaming = {
    model: "auto",
    input,
    tools,
    tool_choice: "auto",
    parallel_tool_calls: true,
    reasoning: { summary: "auto" },
    store: false,
    stream: true,
    include: ["reasoning.encrypted_content"],
    prompt_cache_key: "thread-1",
  };
  const result = chat({ ...body, client_metadata: { session: "s" } });
  assert.deepEqual(result.request, {
    model: "auto",
    stream: true,
    messages: [
      { role: "system", content: "You are Codex." },
      {
        role: "user",
        content: [
          { type: "text", text: "<environment_context/>" },
          { type: "text", text: "list files" },
        ],
      },
      {
        role: "assistant",
        content: null,
        tool_calls: [{
          id: "call_1",
          type: "function",
          function: { name: "exec_command", arguments: '{"cmd":"ls"}' },
        }],
      },
      { role: "tool", tool_call_id: "call_1", content: "a.txt" },
      { role: "assistant", content: "One file." },
    ],
    tools: [
      {
        type: "function",
        function: {
          name: "exec_command",
          description: "Run a command",
          parameters: {
            type: "object",
            properties: { cmd: { type: "string" } },
            required: ["cmd"],
          },
          strict: false,
        },
      },
      {
        type: "function",
        function: {
          name: "apply_patch",
          description: "Edit files",
          parameters: {
            type: "object",
            properties: {
              input: {
                type: "string",
                description: "The raw input of the `apply_patch` tool.",
              },
            },
            required: ["input"],
            additionalProperties: false,
          },
        },
      },
    ],
    tool_choice: "auto",
    parallel_tool_calls: true,
  });
  assert.equal(result.prefersReasoning, true);
  assert.deepEqual(result.droppedTools, ["web_search", "tool_search"]);
  assert.deepEqual(result.tools.target("apply_patch"), {
    kind: "custom",
    name: "apply_patch",
  });
});

Deno.test("toChatRequest() merges consecutive calls, and a call into the assistant message just before it", () => {
  const { request } = chat({
    input: [
      { role: "user", content: "go" },
      { role: "assistant", content: [{ type: "output_text", text: "On it." }] },
      { type: "reasoning", id: "rs_1", summary: [] },
      { type: "function_call", call_id: "c1", name: "a", arguments: "{}" },
      { type: "function_call", call_id: "c2", name: "b", arguments: "{}" },
      { type: "function_call_output", call_id: "c1", output: "A" },
      { type: "function_call_output", call_id: "c2", output: "B" },
      { type: "function_call", call_id: "c3", name: "a", arguments: "{}" },
      { type: "function_call_output", call_id: "c3", output: "C" },
    ],
  });
  const call = (id: string, name: string) => ({
    id,
    type: "function",
    function: { name, arguments: "{}" },
  });
  assert.deepEqual(request.messages, [
    { role: "user", content: "go" },
    {
      role: "assistant",
      content: "On it.",
      tool_calls: [call("c1", "a"), call("c2", "b")],
    },
    { role: "tool", tool_call_id: "c1", content: "A" },
    { role: "tool", tool_call_id: "c2", content: "B" },
    { role: "assistant", content: null, tool_calls: [call("c3", "a")] },
    { role: "tool", tool_call_id: "c3", content: "C" },
  ]);
});

Deno.test("toChatRequest() sends custom tool calls as {input} JSON and their outputs as tool messages", () => {
  const { request } = chat({
    tools: [{ type: "custom", name: "apply_patch" }],
    input: [
      { role: "user", content: "patch it" },
      {
        type: "custom_tool_call",
        call_id: "c1",
        name: "apply_patch",
        input: '*** Begin Patch\n"quoted"',
      },
      {
        type: "custom_tool_call_output",
        call_id: "c1",
        output: [{ type: "input_text", text: "Done" }],
      },
    ],
  });
  assert.deepEqual(request.messages.slice(1), [
    {
      role: "assistant",
      content: null,
      tool_calls: [{
        id: "c1",
        type: "function",
        function: {
          name: "apply_patch",
          arguments: JSON.stringify({ input: '*** Begin Patch\n"quoted"' }),
        },
      }],
    },
    { role: "tool", tool_call_id: "c1", content: "Done" },
  ]);
});

Deno.test("toChatRequest() joins text parts of a tool output and moves its images to a user message after the tool run, each after a line naming its call; an output of an image only says where it went", () => {
  const { request } = chat({
    input: [
      { type: "function_call", call_id: "c1", name: "view", arguments: "{}" },
      { type: "function_call", call_id: "c2", name: "view", arguments: "{}" },
      { type: "function_call", call_id: "c3", name: "view", arguments: "{}" },
      {
        type: "function_call_output",
        call_id: "c1",
        output: [
          { type: "input_text", text: "line 1" },
          { type: "input_image", image_url: "data:image/png;base64,AA" },
          { type: "input_text", text: "line 2" },
        ],
      },
      { type: "function_call_output", call_id: "c2", output: "plain" },
      {
        type: "function_call_output",
        call_id: "c3",
        output: [{ type: "input_image", image_url: "https://x/c3.png" }],
      },
      { role: "user", content: "thanks" },
    ],
  });
  assert.deepEqual(request.messages.slice(1), [
    { role: "tool", tool_call_id: "c1", content: "line 1\nline 2" },
    { role: "tool", tool_call_id: "c2", content: "plain" },
    {
      role: "tool",
      tool_call_id: "c3",
      content: "(The result is attached to the next message.)",
    },
    {
      role: "user",
      content: [
        { type: "text", text: "Result of tool call c1:" },
        {
          type: "image_url",
          image_url: { url: "data:image/png;base64,AA" },
        },
        { type: "text", text: "Result of tool call c3:" },
        { type: "image_url", image_url: { url: "https://x/c3.png" } },
      ],
    },
    { role: "user", content: "thanks" },
  ]);
});

Deno.test("toChatRequest() translates images, files and refusals in messages", () => {
  const { request } = chat({
    input: [
      {
        role: "user",
        content: [
          { type: "input_text", text: "What is this?" },
          {
            type: "input_image",
            image_url: "https://example.com/a.png",
            detail: "low",
          },
          {
            type: "input_file",
            filename: "a.pdf",
            file_data: "data:application/pdf;base64,JVBER",
          },
          { type: "input_file", file_url: "https://example.com/b.pdf" },
        ],
      },
      { role: "assistant", content: [{ type: "refusal", refusal: "No." }] },
    ],
  });
  assert.deepEqual(request.messages, [
    {
      role: "user",
      content: [
        { type: "text", text: "What is this?" },
        {
          type: "image_url",
          image_url: { url: "https://example.com/a.png", detail: "low" },
        },
        {
          type: "file",
          file: {
            filename: "a.pdf",
            file_data: "data:application/pdf;base64,JVBER",
          },
        },
        {
          type: "file",
          file: { filename: "file", file_data: "https://example.com/b.pdf" },
        },
      ],
    },
    { role: "assistant", content: "No." },
  ]);
});

Deno.test("toChatRequest() flattens namespace tools as <namespace>__<name> and maps them back", () => {
  const result = chat({
    tools: [
      {
        type: "namespace",
        name: "crm",
        description: "Customer records.",
        tools: [
          { type: "function", name: "lookup", description: "Find one." },
          { type: "custom", name: "note" },
        ],
      },
      { type: "function", name: "crm__lookup", parameters: null },
    ],
    tool_choice: { type: "function", name: "crm__lookup" },
    input: [
      {
        type: "function_call",
        call_id: "c1",
        name: "lookup",
        namespace: "crm",
        arguments: "{}",
      },
      { type: "function_call_output", call_id: "c1", output: "found" },
    ],
  });
  const names = result.request.tools as Array<
    { function: { name: string; description?: string } }
  >;
  // The top-level tool keeps its name; the namespaced one gets a suffix.
  assert.deepEqual(names.map((t) => t.function.name), [
    "crm__lookup",
    "crm__lookup_2",
    "crm__note",
  ]);
  assert.equal(
    names[1]?.function.description,
    "Customer records.\n\nFind one.",
  );
  assert.equal(names[2]?.function.description, "Customer records.");
  assert.deepEqual(result.request.tool_choice, {
    type: "function",
    function: { name: "crm__lookup" },
  });
  const first = result.request.messages[0] as unknown as {
    tool_calls: Array<{ function: { name: string } }>;
  };
  assert.equal(first.tool_calls[0]?.function.name, "crm__lookup_2");
  assert.deepEqual(result.tools.target("crm__lookup_2"), {
    kind: "function",
    name: "lookup",
    namespace: "crm",
  });
  assert.deepEqual(result.tools.target("crm__note"), {
    kind: "custom",
    name: "note",
    namespace: "crm",
  });
  assert.deepEqual(result.tools.target("crm__lookup"), {
    kind: "function",
    name: "crm__lookup",
  });
  assert.deepEqual(result.tools.target("unknown"), {
    kind: "function",
    name: "unknown",
  });
  // A missing `parameters` becomes an empty object schema.
  const top = result.request.tools as Array<
    { function: Record<string, unknown> }
  >;
  assert.deepEqual(top[0]?.function.parameters, {
    type: "object",
    properties: {},
  });
});

Deno.test("toChatRequest() maps tool_choice, and leaves tool fields out when only hosted tools were sent", () => {
  const tools = [
    { type: "function", name: "f", parameters: { type: "object" } },
    { type: "custom", name: "c" },
    { type: "web_search_preview" },
  ];
  const choice = (tool_choice: unknown) =>
    chat({ input: "x", tools, tool_choice }).request.tool_choice;
  assert.equal(choice("none"), "none");
  assert.equal(choice("required"), "required");
  assert.deepEqual(choice({ type: "function", name: "f" }), {
    type: "function",
    function: { name: "f" },
  });
  assert.deepEqual(choice({ type: "custom", name: "c" }), {
    type: "function",
    function: { name: "c" },
  });
  assert.equal(choice({ type: "web_search_preview" }), "auto");
  assert.equal(choice({ type: "mcp", server_label: "s" }), "auto");
  const allowF = [{ type: "function", name: "f" }];
  assert.equal(
    choice({ type: "allowed_tools", mode: "required", tools: allowF }),
    "required",
  );
  assert.equal(
    choice({ type: "allowed_tools", mode: "auto", tools: allowF }),
    "auto",
  );

  const hostedOnly = chat({
    input: "x",
    tools: [
      { type: "web_search" },
      { type: "file_search", vector_store_ids: [] },
      { type: "web_search" },
      { type: "mcp", server_label: "s" },
    ],
    tool_choice: "required",
    parallel_tool_calls: false,
  });
  assert.deepEqual(hostedOnly.droppedTools, [
    "web_search",
    "file_search",
    "mcp",
  ]);
  for (const key of ["tools", "tool_choice", "parallel_tool_calls"]) {
    assert.equal(key in hostedOnly.request, false, key);
  }
});

Deno.test("toChatRequest() maps sampling, limits, user and text.format", () => {
  const { request } = chat({
    input: "x",
    max_output_tokens: 256,
    temperature: 0.3,
    top_p: 0.9,
    user: "u-1",
    text: {
      format: {
        type: "json_schema",
        name: "answer",
        schema: { type: "object" },
        strict: true,
        description: "The answer",
      },
    },
  });
  assert.equal(request.max_tokens, 256);
  assert.equal(request.temperature, 0.3);
  assert.equal(request.top_p, 0.9);
  assert.equal(request.user, "u-1");
  assert.deepEqual(request.response_format, {
    type: "json_schema",
    json_schema: {
      name: "answer",
      schema: { type: "object" },
      description: "The answer",
      strict: true,
    },
  });
  assert.deepEqual(
    chat({ input: "x", text: { format: { type: "json_object" } } }).request
      .response_format,
    { type: "json_object" },
  );
  const plain = chat({ input: "x", text: { format: { type: "text" } } });
  assert.equal("response_format" in plain.request, false);
});

Deno.test("toChatRequest() prefers reasoning when reasoning is sent, forwarding an effort", () => {
  const effort = chat({ input: "x", reasoning: { effort: "high" } });
  assert.equal(effort.prefersReasoning, true);
  assert.deepEqual(effort.request.reasoning, { effort: "high" });
  const summary = chat({ input: "x", reasoning: { summary: "auto" } });
  assert.equal(summary.prefersReasoning, true);
  assert.equal("reasoning" in summary.request, false);
  const none = chat({ input: "x", reasoning: { effort: "none" } });
  assert.equal(none.prefersReasoning, false);
  assert.deepEqual(none.request.reasoning, { effort: "none" });
  assert.equal(chat({ input: "x", reasoning: null }).prefersReasoning, false);
});

Deno.test("toChatRequest() accepts the listed pass-over fields without forwarding them", () => {
  const { request } = chat({
    input: "x",
    store: false,
    include: ["reasoning.encrypted_content"],
    prompt_cache_key: "k",
    client_metadata: { a: "b" },
    metadata: { a: "b" },
    truncation: "auto",
    service_tier: "flex",
    safety_identifier: "s",
    background: false,
    stream_options: { include_obfuscation: false },
    some_future_field: 1,
  });
  assert.deepEqual(Object.keys(request).sort(), ["messages", "stream"]);
});
