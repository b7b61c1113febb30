/**
 * The Responses front's answers to the audit of `POST /v1/responses`: an
 * input that translates to nothing (unknown item types dropped), `tool_choice` naming
 * namespaced, unknown or hosted tools, `allowed_tools`, and the argument
 * deltas of a function call without arguments.
 */
import assert from "node:assert/strict";
import {
  nothingToSend,
  parseResponsesRequest,
  toChatRequest,
} from "../../src/fronts/responses/request.ts";
import { rig } from "../_harness.ts";
import { ok } from "../fake_openrouter/mod.ts";
import {
  as,
  chunk,
  parsed,
  run,
  streamFor,
  toolDelta,
  TOOLS,
} from "./responses_helpers.ts";

/** A free id, requested by name so that it goes first. */
const A = "qwen/qwen3-coder:free";

function rejection(body: unknown): { message: string; param?: string } {
  const result = parseResponsesRequest(body);
  if (result.ok) assert.fail("expected a rejection");
  return result;
}

function chat(body: Record<string, unknown>) {
  return toChatRequest(parsed(body));
}

/** The chat names of the tools sent upstream. */
function toolNames(request: Record<string, unknown>): string[] {
  const tools = request.tools as
    | Array<{ function: { name: string } }>
    | undefined;
  return (tools ?? []).map((t) => t.function.name);
}

/** POSTs a Responses body to the rig's handler. */
function post(r: ReturnType<typeof rig>, body: unknown): Promise<Response> {
  return r.request("/v1/responses", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

const REASONING = { type: "reasoning", id: "rs_1", summary: [] };
const WEB_SEARCH_CALL = {
  type: "web_search_call",
  id: "ws_1",
  status: "completed",
  action: { type: "search", query: "x" },
};

/** The rejection of a valid request whose translation leaves no message, if any. */
function nothingLeft(body: Record<string, unknown>) {
  return nothingToSend(chat(body).request);
}

Deno.test("nothingToSend() refuses an input whose every item is dropped, instructions or not, naming input", () => {
  for (
    const input of [
      [REASONING],
      [WEB_SEARCH_CALL],
      [REASONING, WEB_SEARCH_CALL, { type: "compaction" }],
    ]
  ) {
    for (const extra of [{}, { instructions: "Be brief." }]) {
      const result = nothingLeft({ input, ...extra });
      assert.equal(result?.param, "input", JSON.stringify(input));
      assert.match(result!.message, /^input: .*leaves no message to send/);
    }
  }
  // One translated item is enough.
  assert.equal(
    nothingLeft({ input: [REASONING, { role: "user", content: "a" }] }),
    undefined,
  );
});

Deno.test("parseResponsesRequest() drops an input item of a type it does not know (the API grows), and refuses an input left with no message", () => {
  const typo = nothingLeft({
    input: [{ type: "mesage", role: "user", content: "hello" }],
  });
  assert.equal(typo?.param, "input");
  const newer = parseResponsesRequest({
    input: [
      { role: "user", content: "hi" },
      { type: "a_future_item", id: "fi_1", payload: {} },
    ],
  });
  assert.ok(newer.ok);
  assert.deepEqual(
    newer.ok && newer.request.input,
    [{ type: "message", role: "user", content: "hi" }, { type: "dropped" }],
  );
  // A known type's own fields are still checked.
  assert.equal(
    rejection({ input: [{ type: "function_call", name: "f", arguments: "" }] })
      .param,
    "input[0].call_id",
  );
  assert.equal(rejection({ input: [5] }).param, "input[0]");
});

Deno.test("POST /v1/responses answers an input that translates to nothing with a local 400, reaching no model", async () => {
  await using r = rig();
  r.fake.script(A, ok(A, "unused"));
  for (
    const [input, param] of [
      [[REASONING], "input"],
      [[WEB_SEARCH_CALL], "input"],
      [[{ type: "mesage", role: "user", content: "hello" }], "input"],
    ] as const
  ) {
    const res = await post(r, { model: A, input });
    assert.equal(res.status, 400);
    const { error } = await res.json() as {
      error: Record<string, unknown>;
    };
    assert.equal(error.type, "invalid_request_error");
    assert.equal(error.param, param);
    assert.equal(typeof error.message, "string");
    assert.ok("code" in error);
  }
  // Instructions alone are not a conversation: it went upstream as one
  // system message.
  const alone = await post(r, {
    model: A,
    instructions: "Be brief.",
    input: [REASONING],
  });
  assert.equal(alone.status, 400);
  assert.equal(r.fake.chatRequests().length, 0);
});

const NAMESPACED = [
  { type: "function", name: "f" },
  {
    type: "namespace",
    name: "mcp",
    description: "Files",
    tools: [{ type: "function", name: "read" }, { type: "custom", name: "w" }],
  },
  { type: "web_search" },
];

Deno.test("toChatRequest() sends a tool_choice naming a namespaced tool under the tool's chat name", () => {
  const { request } = chat({
    input: "x",
    tools: NAMESPACED,
    tool_choice: { type: "function", name: "read" },
  });
  assert.deepEqual(toolNames(request), ["f", "mcp__read", "mcp__w"]);
  assert.deepEqual(request.tool_choice, {
    type: "function",
    function: { name: "mcp__read" },
  });
  assert.deepEqual(
    chat({
      input: "x",
      tools: NAMESPACED,
      tool_choice: { type: "custom", name: "w" },
    }).request.tool_choice,
    { type: "function", function: { name: "mcp__w" } },
  );
});

Deno.test("parseResponsesRequest() refuses a tool_choice naming a tool that is not among the tools", () => {
  for (
    const tool_choice of [
      { type: "function", name: "nope" },
      // A custom tool is not a function, nor the other way round.
      { type: "function", name: "w" },
      { type: "custom", name: "f" },
    ]
  ) {
    const result = rejection({ input: "x", tools: NAMESPACED, tool_choice });
    assert.equal(result.param, "tool_choice", JSON.stringify(tool_choice));
    assert.match(result.message, new RegExp(tool_choice.name));
  }
  assert.equal(
    rejection({ input: "x", tool_choice: { type: "function", name: "f" } })
      .param,
    "tool_choice",
  );
});

Deno.test("toChatRequest() turns a tool_choice naming a dropped hosted tool into auto", () => {
  const result = chat({
    input: "x",
    tools: NAMESPACED,
    tool_choice: { type: "function", name: "web_search" },
  });
  assert.equal(result.request.tool_choice, "auto");
  assert.deepEqual(result.droppedTools, ["web_search"]);
});

Deno.test("POST /v1/responses refuses an unknown tool_choice locally, and names a dropped one in X-FreeRouter-Dropped-Tools", async () => {
  await using r = rig();
  const unknown = await post(r, {
    model: A,
    input: "x",
    tools: NAMESPACED,
    tool_choice: { type: "function", name: "nope" },
  });
  assert.equal(unknown.status, 400);
  const { error } = await unknown.json() as { error: Record<string, unknown> };
  assert.equal(error.type, "invalid_request_error");
  assert.equal(error.param, "tool_choice");
  assert.equal(r.fake.chatRequests().length, 0);

  r.fake.script(A, ok(A, "fine"));
  const hosted = await post(r, {
    model: A,
    input: "x",
    tools: NAMESPACED,
    tool_choice: { type: "function", name: "web_search" },
  });
  assert.equal(hosted.status, 200);
  await hosted.body?.cancel();
  assert.equal(hosted.headers.get("x-freerouter-dropped-tools"), "web_search");
  const [sent] = r.fake.chatRequests();
  const body = sent!.body as Record<string, unknown>;
  assert.equal(body.tool_choice, "auto");
});

Deno.test("toChatRequest() sends only the tools allowed_tools lists, with its mode as tool_choice", () => {
  for (const mode of ["auto", "required"] as const) {
    const { request } = chat({
      input: "x",
      tools: [...NAMESPACED, { type: "function", name: "g" }],
      tool_choice: {
        type: "allowed_tools",
        mode,
        tools: [{ type: "function", name: "f" }, { type: "web_search" }],
      },
    });
    assert.deepEqual(toolNames(request), ["f"], mode);
    assert.equal(request.tool_choice, mode);
  }
  const grouped = chat({
    input: "x",
    tools: [...NAMESPACED, { type: "function", name: "g" }],
    tool_choice: {
      type: "allowed_tools",
      mode: "auto",
      tools: [{ type: "namespace", name: "mcp" }, {
        type: "function",
        name: "g",
      }],
    },
  }).request;
  assert.deepEqual(toolNames(grouped), ["g", "mcp__read", "mcp__w"]);
  const named = chat({
    input: "x",
    tools: NAMESPACED,
    tool_choice: {
      type: "allowed_tools",
      mode: "required",
      tools: [{ type: "function", name: "read" }],
    },
  }).request;
  assert.deepEqual(toolNames(named), ["mcp__read"]);
  // Only a hosted tool allowed: nothing left to send, as with hosted tools only.
  const hostedOnly = chat({
    input: "x",
    tools: NAMESPACED,
    parallel_tool_calls: true,
    tool_choice: {
      type: "allowed_tools",
      mode: "auto",
      tools: [{ type: "web_search" }],
    },
  }).request;
  for (const key of ["tools", "tool_choice", "parallel_tool_calls"]) {
    assert.equal(key in hostedOnly, false, key);
  }
});

Deno.test("parseResponsesRequest() refuses allowed_tools listing a tool that is not defined", () => {
  const allowed = (tools: unknown[]) =>
    rejection({
      input: "x",
      tools: NAMESPACED,
      tool_choice: { type: "allowed_tools", mode: "auto", tools },
    });
  const unknown = allowed([
    { type: "function", name: "f" },
    { type: "function", name: "nope" },
  ]);
  assert.equal(unknown.param, "tool_choice.tools[1]");
  assert.match(unknown.message, /nope/);
  assert.equal(
    allowed([{ type: "namespace", name: "nope" }]).param,
    "tool_choice.tools[0]",
  );
  assert.equal(
    allowed([{ type: "file_search" }]).param,
    "tool_choice.tools[0]",
  );
  assert.equal(
    rejection({
      input: "x",
      tools: NAMESPACED,
      tool_choice: { type: "allowed_tools", mode: "sometimes", tools: [] },
    }).param,
    "tool_choice.mode",
  );
});

Deno.test("POST /v1/responses sends upstream only the tools allowed_tools lists", async () => {
  await using r = rig();
  r.fake.script(A, ok(A, "fine"));
  const res = await post(r, {
    model: A,
    input: "x",
    tools: [{ type: "function", name: "f" }, { type: "function", name: "g" }],
    tool_choice: {
      type: "allowed_tools",
      mode: "required",
      tools: [{ type: "function", name: "f" }],
    },
  });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  const body = r.fake.chatRequests()[0]!.body as Record<string, unknown>;
  assert.deepEqual(toolNames(body), ["f"]);
  assert.equal(body.tool_choice, "required");
});

Deno.test("ResponsesStream argument deltas add up to the arguments of .done, even when none came", () => {
  for (
    const pieces of [
      [""],
      ["  "],
      [" ", "", '{"a":', "1}"],
      ['{"cmd":"ls"}'],
    ]
  ) {
    const { stream } = streamFor({ input: "x", tools: TOOLS });
    const events = run(stream, [
      chunk(toolDelta(0, { id: "call_a", name: "exec_command", args: "" })),
      ...pieces.map((args) => chunk(toolDelta(0, { args }))),
      chunk({}, "tool_calls"),
    ]);
    const deltas = events.filter((e) =>
      e.type === "response.function_call_arguments.delta"
    ).map((e) => as(e, "response.function_call_arguments.delta").delta);
    const done = as(
      events.find((e) => e.type === "response.function_call_arguments.done"),
      "response.function_call_arguments.done",
    );
    const label = JSON.stringify(pieces);
    assert.ok(deltas.length > 0, label);
    assert.equal(deltas.join(""), done.arguments, label);
    assert.equal(deltas.includes(""), false, label);
  }
});
