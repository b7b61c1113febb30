/**
 * The work of a long function call through `ResponsesStream`: each argument
 * delta is forwarded as it came, and the arguments so far are not re-read
 * per delta (that was quadratic: 20,000 deltas of 20 bytes took 15.8 s of
 * CPU). The timing itself belongs in a benchmark; these tests count the
 * work.
 */
import assert from "node:assert/strict";
import type { ChatCompletionChunk } from "../../src/types.ts";
import {
  as,
  chunk,
  parseSse,
  run,
  streamFor,
  toolDelta,
  TOOLS,
} from "./responses_helpers.ts";

/** The string methods that read their receiver. */
const READERS = [
  "trim",
  "trimStart",
  "trimEnd",
  "slice",
  "substring",
  "substr",
] as const;

/**
 * Runs `body` with {@link READERS} counting the characters of the strings
 * they are called on; returns `body`'s result and that count.
 */
function countReads<T>(body: () => T): { result: T; read: number } {
  const proto = String.prototype as unknown as Record<
    string,
    (this: string, ...args: unknown[]) => unknown
  >;
  const originals = READERS.map((name) => [name, proto[name]!] as const);
  let read = 0;
  for (const [name, original] of originals) {
    proto[name] = function (this: string, ...args: unknown[]) {
      read += this.length;
      return original.apply(this, args);
    };
  }
  try {
    return { result: body(), read };
  } finally {
    for (const [name, original] of originals) proto[name] = original;
  }
}

/** The argument deltas among `events`. */
function argumentDeltas(sse: string): string[] {
  return parseSse(sse)
    .filter((e) => e.type === "response.function_call_arguments.delta")
    .map((e) => as(e, "response.function_call_arguments.delta").delta);
}

Deno.test("ResponsesStream reads a function call's arguments once in all, not once per delta", () => {
  const n = 2_000;
  const piece = "abcdefghijklmnopqrs ";
  const { stream } = streamFor({ input: "x", tools: TOOLS });
  let sse = stream.start();
  sse += stream.push(chunk(toolDelta(0, {
    id: "call_w",
    name: "exec_command",
    args: '{"cmd":"',
  })));
  const { result: pieces, read } = countReads(() => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      out.push(stream.push(chunk(toolDelta(0, { args: piece }))));
    }
    out.push(stream.push(chunk(toolDelta(0, { args: '"}' }))));
    out.push(stream.finish());
    return out;
  });
  const length = '{"cmd":"'.length + n * piece.length + 2;
  // The pieces' own checks plus one of the whole at the end (for `{}`).
  assert.ok(
    read <= 4 * length,
    `${read} characters read for ${length} of arguments`,
  );
  // Each piece went out at once, as it came.
  for (let i = 0; i < n; i++) {
    assert.deepEqual(argumentDeltas(pieces[i]!), [piece], `delta ${i}`);
  }
  const events = parseSse(sse + pieces.join(""));
  const done = as(
    events.find((e) => e.type === "response.function_call_arguments.done"),
    "response.function_call_arguments.done",
  );
  assert.equal(done.arguments.length, length);
});

Deno.test("ResponsesStream holds blank arguments, then sends them with the first other piece and each later piece as it came", () => {
  // Per piece pushed, the argument deltas its push sends; then the finish's.
  const cases: Array<{ pieces: string[]; sent: string[][]; end: string[] }> = [
    {
      pieces: ["", " ", "\n", ' {"a":', "", " 1 ", "\u00a0", "}", "  "],
      sent: [[], [], [], [' \n {"a":'], [], [" 1 "], ["\u00a0"], ["}"], [
        "  ",
      ]],
      end: [],
    },
    { pieces: [" ", "\t"], sent: [[], []], end: ["{}"] },
    { pieces: [], sent: [], end: ["{}"] },
    { pieces: ["{}"], sent: [["{}"]], end: [] },
  ];
  for (const { pieces, sent, end } of cases) {
    const { stream } = streamFor({ input: "x", tools: TOOLS });
    let sse = stream.start();
    sse += stream.push(
      chunk(toolDelta(0, { id: "call_a", name: "exec_command" })),
    );
    const label = JSON.stringify(pieces);
    const pushed = pieces.map((args) =>
      stream.push(chunk(toolDelta(0, { args })))
    );
    assert.deepEqual(pushed.map(argumentDeltas), sent, label);
    const finish = stream.finish();
    assert.deepEqual(argumentDeltas(finish), end, label);
    const done = as(
      parseSse(sse + pushed.join("") + finish).find((e) =>
        e.type === "response.function_call_arguments.done"
      ),
      "response.function_call_arguments.done",
    );
    assert.equal([...sent.flat(), ...end].join(""), done.arguments, label);
  }
});

Deno.test("ResponsesStream sends the arguments that came before the name in one delta when the name comes", () => {
  const { stream } = streamFor({ input: "x", tools: TOOLS });
  const chunks: ChatCompletionChunk[] = [
    chunk(toolDelta(0, { id: "call_a", args: " " })),
    chunk(toolDelta(0, { args: '{"cmd":' })),
    chunk(toolDelta(0, { name: "exec_command", args: '"ls"' })),
    chunk(toolDelta(0, { args: "}" })),
    chunk({}, "tool_calls"),
  ];
  const events = run(stream, chunks);
  const deltas = events
    .filter((e) => e.type === "response.function_call_arguments.delta")
    .map((e) => as(e, "response.function_call_arguments.delta").delta);
  assert.deepEqual(deltas, [' {"cmd":"ls"', "}"]);
});
