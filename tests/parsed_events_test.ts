/**
 * The stream guard's parsed events, handed to the agent fronts with the bytes
 * (src/upstream/parsed_events.ts): the guard records every data event it
 * forwards, as JSON.parse reads it; translateStream() takes a record instead
 * of parsing again, reads bytes without one as bytes, and gives the same
 * output either way.
 */
import assert from "node:assert/strict";
import { MessagesStream } from "../src/fronts/anthropic/stream.ts";
import {
  parseResponsesRequest,
  toChatRequest,
} from "../src/fronts/responses/request.ts";
import { ResponsesStream } from "../src/fronts/responses/stream.ts";
import {
  type StreamTranslator,
  translateStream,
} from "../src/http/translate.ts";
import type { ChatCompletionChunk } from "../src/types.ts";
import {
  DONE,
  type ParsedEvent,
  parsedEvents,
  withParsedEvents,
} from "../src/upstream/parsed_events.ts";
import { sseData, SseSplitter } from "../src/upstream/sse.ts";
import { attemptStream } from "../src/upstream/stream_attempt.ts";
import { counterIds } from "./fronts/responses_helpers.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function event(delta: Record<string, unknown>, finish: string | null = null) {
  return `data: ${
    JSON.stringify({
      id: "gen-1",
      object: "chat.completion.chunk",
      created: 1,
      model: "m:free",
      choices: [{ index: 0, delta, finish_reason: finish }],
    })
  }\n\n`;
}

const USAGE = `data: ${
  JSON.stringify({
    id: "gen-1",
    object: "chat.completion.chunk",
    created: 1,
    model: "m:free",
    choices: [],
    usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 },
  })
}\n\n`;

/** The guarded stream of an upstream that sends `parts` (as byte chunks), then ends. */
async function guarded(parts: readonly string[]): Promise<Uint8Array[]> {
  const upstream = () => {
    let next = 0;
    const body = new ReadableStream({
      type: "bytes",
      pull(controller) {
        const part = parts[next++];
        if (part !== undefined) return controller.enqueue(encoder.encode(part));
        controller.close();
        controller.byobRequest?.respond(0); // the pending read sees the end
      },
    });
    return Promise.resolve(
      new Response(body, { headers: { "content-type": "text/event-stream" } }),
    );
  };
  const result = await attemptStream({
    baseUrl: "http://upstream.invalid",
    fetch: upstream,
    requestTimeoutMs: 60_000,
    idleTimeoutMs: 60_000,
    keepAliveMs: 300_000,
  }, { model: "m:free", body: "{}", apiKey: "k", parsedEvents: true });
  assert.ok(result.ok, "the stream commits");
  return await Array.fromAsync(result.value.body);
}

/** The data events of whole-event bytes, parsed as translateStream would. */
function dataEvents(bytes: Uint8Array): ParsedEvent[] {
  const splitter = new SseSplitter();
  splitter.push(bytes);
  const out: ParsedEvent[] = [];
  for (let e = splitter.next(); e; e = splitter.next()) {
    const data = sseData(e);
    if (data !== undefined) {
      out.push(data === "[DONE]" ? DONE : JSON.parse(data));
    }
  }
  assert.equal(splitter.pendingBytes, 0, "whole events only");
  return out;
}

/** A translator that logs what it is given. */
function logger(): StreamTranslator & { log: unknown[] } {
  const log: unknown[] = [];
  return {
    log,
    start: () => "",
    push: (chunk) => (log.push(chunk), "+"),
    finish: () => (log.push("finish"), "."),
    fail: (message) => (log.push(`fail: ${message}`), "!"),
    keepAlive: () => (log.push("keep-alive"), "~"),
  };
}

async function translated(
  chunks: readonly Uint8Array[],
  translator: StreamTranslator,
): Promise<string> {
  const out = translateStream(ReadableStream.from(chunks), translator);
  return decoder.decode(
    new Uint8Array(
      (await Array.fromAsync(out)).flatMap((c) => [...c]),
    ),
  );
}

const TEXT_PARTS = [
  ": OPENROUTER PROCESSING\n\n",
  event({ role: "assistant", content: "" }) +
  event({ content: 'Hi "th' }).slice(0, 30),
  event({ content: 'Hi "th' }).slice(30) + ": keep-alive\n\n" +
  event({ content: "ere\n</script> é😀" }),
  event({ reasoning: "hmm" }) + event({ content: "!" }, "stop"),
  USAGE + "data: [DONE]\n\n",
];

Deno.test("the stream guard's chunks come with their data events parsed as JSON.parse reads them, comments left out", async () => {
  const chunks = await guarded(TEXT_PARTS);
  let events = 0;
  for (const chunk of chunks) {
    const parsed = parsedEvents(chunk);
    assert.ok(parsed, `a record for ${JSON.stringify(decoder.decode(chunk))}`);
    assert.deepEqual(parsed, dataEvents(chunk));
    events += parsed.length;
  }
  assert.equal(events, 7); // 5 chunks, the usage and [DONE]
  assert.ok(chunks.some((c) => parsedEvents(c)!.length > 1));
});

Deno.test("translateStream() takes the record that comes with the bytes instead of parsing them", async () => {
  const bytes = encoder.encode(event({ content: "from the bytes" }));
  const recorded = { choices: [{ delta: { content: "from the record" } }] };
  const translator = logger();
  await translated(
    [
      withParsedEvents(bytes, [recorded as unknown as ChatCompletionChunk]),
      withParsedEvents(encoder.encode("data: [DONE]\n\n"), [DONE]),
    ],
    translator,
  );
  assert.deepEqual(translator.log, [recorded, "finish"]);
  assert.equal(translator.log[0], recorded, "the very object, not a copy");
});

Deno.test("translateStream() reads a recorded chunk as bytes when a partial event is pending", async () => {
  const whole = event({ content: "split" });
  const misleading = { choices: [{ delta: { content: "wrong" } }] };
  const translator = logger();
  await translated(
    [
      encoder.encode(whole.slice(0, 20)),
      withParsedEvents(encoder.encode(whole.slice(20) + "data: [DONE]\n\n"), [
        misleading as unknown as ChatCompletionChunk,
        DONE,
      ]),
    ],
    translator,
  );
  assert.deepEqual(translator.log, [JSON.parse(whole.slice(6)), "finish"]);
});

Deno.test("translateStream() stops at a recorded [DONE] or error, as it does reading bytes", async () => {
  const ok = JSON.parse(event({ content: "a" }).slice(6));
  const error = { error: { message: "overloaded", code: 502 } };
  for (
    const [record, expected] of [
      [[ok, DONE, ok], [ok, "finish"]],
      [[ok, error, ok], [ok, "fail: overloaded"]],
    ] as const
  ) {
    const translator = logger();
    await translated([
      withParsedEvents(
        encoder.encode(record.map(() => event({ content: "a" })).join("")),
        record as unknown as ParsedEvent[],
      ),
    ], translator);
    assert.deepEqual(translator.log, expected);
  }
});

const TOOL_PARTS = [
  event({ role: "assistant", content: "" }),
  event({ content: "Let me look." }),
  event({
    tool_calls: [{
      index: 0,
      id: "call_1",
      type: "function",
      function: { name: "shell", arguments: '{"cmd' },
    }],
  }) + event({
    tool_calls: [{ index: 0, function: { arguments: '":"ls \\"a\\""}' } }],
  }),
  event({}, "tool_calls") + USAGE,
  "data: [DONE]\n\n",
];
const BROKEN_PARTS = [
  event({ role: "assistant", content: "" }) + event({ content: "Part" }),
  'data: {"error":{"message":"provider went away","code":502}}\n\n',
];
const MALFORMED_PARTS = [event({ content: "Part" }), "data: {oops\n\n"];
const NO_DONE_PARTS = [event({ content: "All" }, "stop"), USAGE];

const codex = parseResponsesRequest({
  input: "hi",
  stream: true,
  reasoning: { summary: "auto" },
  tools: [{ type: "function", name: "shell", parameters: {} }],
});
if (!codex.ok) throw new Error(codex.message);
const translators: Record<string, () => StreamTranslator> = {
  messages: () =>
    new MessagesStream({ id: "msg_1", model: "m:free", thinking: true }),
  responses: () =>
    new ResponsesStream({
      id: "resp_1",
      model: "m:free",
      createdAt: 1,
      request: codex.request,
      tools: toChatRequest(codex.request).tools,
      newId: counterIds(),
    }),
};

for (
  const [name, parts] of Object.entries({
    text: TEXT_PARTS,
    "a tool call": TOOL_PARTS,
    "a break after commit": BROKEN_PARTS,
    "a malformed event": MALFORMED_PARTS,
    "a finish without [DONE]": NO_DONE_PARTS,
  })
) {
  for (const [front, make] of Object.entries(translators)) {
    Deno.test(`translateStream(${front}) gives the same bytes for the guarded stream of ${name} with and without its records`, async () => {
      const chunks = await guarded(parts);
      const copies = chunks.map((c) => c.slice());
      assert.ok(copies.every((c) => parsedEvents(c) === undefined));
      const withRecords = await translated(chunks, make());
      assert.equal(withRecords, await translated(copies, make()));
      assert.ok(withRecords.length > 0);
    });
  }
}

Deno.test("a fresh continuation's record lists only the events its bytes hold (the rewrite drops the role chunk)", async () => {
  const enc = new TextEncoder();
  const ev = (delta: Record<string, unknown>, finish: string | null = null) =>
    `data: ${
      JSON.stringify({
        id: "gen-2",
        object: "chat.completion.chunk",
        created: 2,
        model: "b:free",
        choices: [{ index: 0, delta, finish_reason: finish }],
      })
    }\n\n`;
  const parts = [
    ev({ role: "assistant", content: "" }) + ev({ content: "Hello" }),
    ev({}, "stop") + "data: [DONE]\n\n",
  ];
  let next = 0;
  const fetch = () =>
    Promise.resolve(
      new Response(
        new ReadableStream({
          type: "bytes",
          pull(c) {
            const p = parts[next++];
            if (p !== undefined) return c.enqueue(enc.encode(p));
            c.close();
            c.byobRequest?.respond(0);
          },
        }),
        { headers: { "content-type": "text/event-stream" } },
      ),
    );
  const r = await attemptStream(
    {
      baseUrl: "http://freerouter.invalid",
      fetch,
      requestTimeoutMs: 60_000,
      idleTimeoutMs: 60_000,
      keepAliveMs: 300_000,
    },
    {
      model: "b:free",
      body: "{}",
      apiKey: "k",
      parsedEvents: true,
      // Only whitespace was forwarded: the next model answers afresh.
      continues: {
        model: "a:free",
        error: "x",
        code: null,
        events: 3,
        text: "  ",
        id: "gen-1",
        created: 1,
      },
    },
  );
  assert.ok(r.ok);
  const [first] = await Array.fromAsync(r.value.body);
  const splitter = new SseSplitter();
  splitter.push(first!);
  const data: string[] = [];
  for (let e = splitter.next(); e; e = splitter.next()) {
    const d = sseData(e);
    if (d !== undefined) data.push(d);
  }
  assert.deepEqual(
    parsedEvents(first!),
    data.map((d) => JSON.parse(d)),
    "one record per data event, as its bytes read",
  );
});
