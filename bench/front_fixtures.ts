/**
 * Requests and answers for the agent fronts' micro-benchmarks
 * (bench/hot_path_bench.ts), built deterministically from filler text:
 *
 * - {@link claudeCodeRequest}: an Anthropic Messages request shaped like
 *   Claude Code's: two system blocks with `cache_control`, 12 tools with
 *   JSON schemas, 30 messages of text, `tool_use` and `tool_result` blocks,
 *   thinking enabled; about 50 KB of JSON.
 * - {@link codexRequest}: an OpenAI Responses request shaped like Codex's:
 *   `instructions`, a 17 KB developer message, reasoning items,
 *   `function_call`/`custom_tool_call` items and their outputs, function,
 *   custom, hosted and namespace tools.
 * - {@link answerEvents}: a 200-chunk chat completion stream, as OpenRouter
 *   sends it: role, reasoning, text, one streamed tool call, finish, usage.
 *
 * @module
 */

const WORDS = (
  "the agent reads files runs commands edits code and reports back while " +
  "keeping changes small tested reviewed and explained with care for the " +
  "user who asked a question about their repository build tests or release"
).split(" ");

/** `bytes` characters of words (deterministic), starting at word `seed`. */
export function filler(bytes: number, seed = 0): string {
  let out = "";
  for (let i = seed; out.length < bytes; i++) {
    out += (out ? " " : "") + WORDS[(i * 7) % WORDS.length];
    if (i % 23 === 22) out += ".\n";
  }
  return out.slice(0, bytes);
}

/** A JSON schema with `n` string properties, the first two required. */
function schema(n: number, seed: number): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    properties[`param_${seed}_${i}`] = {
      type: i % 3 === 2 ? "number" : "string",
      description: filler(90, seed + i),
    };
  }
  return {
    type: "object",
    properties,
    required: Object.keys(properties).slice(0, 2),
    additionalProperties: false,
    $schema: "http://json-schema.org/draft-07/schema#",
  };
}

const TOOL_NAMES = [
  "Bash",
  "Read",
  "Edit",
  "Write",
  "Glob",
  "Grep",
  "TodoWrite",
  "WebFetch",
  "Task",
  "NotebookEdit",
  "BashOutput",
  "ExitPlanMode",
];

/** A Claude-Code-like Messages request (about 50 KB serialised). */
export function claudeCodeRequest(): Record<string, unknown> {
  const tools = TOOL_NAMES.map((name, i) => ({
    name,
    description: filler(900, i * 5),
    input_schema: schema(4, i),
  }));
  const messages: Record<string, unknown>[] = [{
    role: "user",
    content: [
      { type: "text", text: `<system-reminder>\n${filler(1500, 3)}` },
      { type: "text", text: "Fix the failing test in the parser, please." },
    ],
  }];
  for (let turn = 0; turn < 14; turn++) {
    const id = `toolu_01Bench${String(turn).padStart(4, "0")}`;
    messages.push({
      role: "assistant",
      content: [
        { type: "text", text: filler(160, turn) },
        {
          type: "tool_use",
          id,
          name: TOOL_NAMES[turn % 6]!,
          input: {
            file_path: `/repo/src/module_${turn}.ts`,
            command: `deno test tests/module_${turn}_test.ts`,
          },
        },
      ],
    });
    messages.push({
      role: "user",
      content: [{
        type: "tool_result",
        tool_use_id: id,
        content: filler(850, turn * 3),
        ...(turn % 5 === 4 ? { is_error: true } : {}),
      }],
    });
  }
  messages.push({
    role: "user",
    content: [{
      type: "text",
      text: "Now run the whole suite.",
      cache_control: { type: "ephemeral" },
    }],
  });
  return {
    model: "auto",
    max_tokens: 32000,
    stream: true,
    temperature: 1,
    metadata: { user_id: "user_bench_account__session_bench" },
    thinking: { type: "enabled", budget_tokens: 8000 },
    system: [
      { type: "text", text: "You are a command line coding agent." },
      {
        type: "text",
        text: filler(13_000, 11),
        cache_control: { type: "ephemeral" },
      },
    ],
    tools,
    messages,
  };
}

/** A Codex-like Responses request (a 17 KB developer message). */
export function codexRequest(): Record<string, unknown> {
  const input: Record<string, unknown>[] = [
    {
      type: "message",
      role: "developer",
      content: [{ type: "input_text", text: filler(17_000, 5) }],
    },
    {
      type: "message",
      role: "user",
      content: [{
        type: "input_text",
        text: `<environment_context>\n${
          filler(400, 9)
        }\n</environment_context>`,
      }],
    },
    {
      type: "message",
      role: "user",
      content: [{ type: "input_text", text: "Make the build pass." }],
    },
  ];
  for (let turn = 0; turn < 8; turn++) {
    const call = `call_Bench${String(turn).padStart(4, "0")}`;
    input.push({
      type: "reasoning",
      id: `rs_bench_${turn}`,
      summary: [{ type: "summary_text", text: filler(120, turn) }],
      encrypted_content: "gAAAAA" + "x".repeat(600),
    });
    if (turn % 4 === 3) {
      input.push({
        type: "custom_tool_call",
        call_id: call,
        name: "apply_patch",
        input: `*** Begin Patch\n*** Update File: src/m${turn}.ts\n${
          filler(400, turn)
        }\n*** End Patch`,
      });
      input.push({
        type: "custom_tool_call_output",
        call_id: call,
        output: "Done.",
      });
    } else {
      input.push({
        type: "function_call",
        call_id: call,
        name: "shell",
        arguments: JSON.stringify({
          command: ["bash", "-lc", `deno test tests/m${turn}_test.ts`],
          workdir: "/repo",
        }),
      });
      input.push({
        type: "function_call_output",
        call_id: call,
        output: filler(800, turn * 2),
      });
    }
    input.push({
      type: "message",
      role: "assistant",
      content: [{ type: "output_text", text: filler(200, turn + 1) }],
    });
  }
  const fn = (name: string, i: number) => ({
    type: "function",
    name,
    description: filler(500, i),
    strict: false,
    parameters: schema(3, i),
  });
  return {
    model: "auto",
    instructions: filler(4_000, 2),
    input,
    tools: [
      fn("shell", 0),
      fn("update_plan", 1),
      fn("view_image", 2),
      {
        type: "custom",
        name: "apply_patch",
        description: filler(600, 3),
        format: { type: "grammar", syntax: "lark", definition: filler(300) },
      },
      { type: "web_search" },
      {
        type: "namespace",
        name: "mcp__docs",
        description: "Project documentation server.",
        tools: [fn("search", 4), fn("fetch_page", 5), fn("list", 6)],
      },
    ],
    tool_choice: "auto",
    parallel_tool_calls: false,
    reasoning: { effort: "medium", summary: "auto" },
    store: false,
    stream: true,
    include: ["reasoning.encrypted_content"],
    prompt_cache_key: "bench-session",
  };
}

const BASE = {
  id: "gen-1764000000-BenchFrontAbCdEfGh",
  provider: "Meta",
  model: "meta-llama/model-0:free",
  object: "chat.completion.chunk",
  created: 1_764_000_000,
};

function chunk(delta: Record<string, unknown>, finish: string | null = null) {
  return {
    ...BASE,
    choices: [{
      index: 0,
      delta,
      finish_reason: finish,
      native_finish_reason: finish,
      logprobs: null,
    }],
  };
}

/**
 * The `data` of a 200-chunk chat completion stream (without `[DONE]`): role,
 * 40 reasoning deltas, 110 text deltas, a call of `tool` (name, then 46
 * argument pieces), the finish chunk and the usage chunk.
 */
export function answerEvents(tool: string): string[] {
  const chunks: unknown[] = [chunk({ role: "assistant", content: "" })];
  for (let i = 0; i < 40; i++) {
    chunks.push(
      chunk({ content: "", reasoning: ` ${WORDS[i % WORDS.length]}` }),
    );
  }
  for (let i = 0; i < 110; i++) {
    chunks.push(chunk({ content: ` ${WORDS[i % WORDS.length]}` }));
  }
  chunks.push(chunk({
    tool_calls: [{
      index: 0,
      id: "call_BenchAnswer0001",
      type: "function",
      function: { name: tool, arguments: "" },
    }],
  }));
  const args = JSON.stringify({ command: filler(400, 1), workdir: "/repo" });
  const piece = Math.floor(args.length / 46);
  for (let i = 0; i < 46; i++) {
    const end = i === 45 ? args.length : (i + 1) * piece;
    chunks.push(chunk({
      tool_calls: [{
        index: 0,
        function: { arguments: args.slice(i * piece, end) },
      }],
    }));
  }
  chunks.push(chunk({ content: "" }, "tool_calls"));
  chunks.push({
    ...BASE,
    choices: [],
    usage: {
      prompt_tokens: 12_000,
      completion_tokens: 420,
      total_tokens: 12_420,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 60 },
    },
  });
  return chunks.map((c) => JSON.stringify(c));
}
