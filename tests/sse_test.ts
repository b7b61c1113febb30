import assert from "node:assert/strict";
import {
  concatBytes,
  copyBytes,
  sseData,
  sseErrorEvent,
  SseSplitter,
} from "../src/upstream/sse.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Drains every complete event the splitter holds. */
function drain(splitter: SseSplitter, into: Uint8Array[]): void {
  for (let event = splitter.next(); event; event = splitter.next()) {
    into.push(event);
  }
}

/** Feeds byte chunks through a ReadableStream into one splitter. */
async function split(
  chunks: Array<string | Uint8Array>,
): Promise<{ events: Uint8Array[]; pending: number }> {
  const splitter = new SseSplitter();
  const events: Uint8Array[] = [];
  const stream = ReadableStream.from(
    chunks.map((c) => typeof c === "string" ? bytes(c) : c),
  );
  for await (const chunk of stream) {
    splitter.push(chunk);
    drain(splitter, events);
  }
  return { events, pending: splitter.pendingBytes };
}

function texts(events: Uint8Array[]): string[] {
  return events.map((e) => decoder.decode(e));
}

const CHUNK_1 =
  'data: {"id":"gen-1739458867-kUKFjpDGCEBBvK6V46PX","provider":"OpenAI","model":"openai/gpt-4o-mini","object":"chat.completion.chunk","created":1739458867,"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}';
const CHUNK_2 =
  'data: {"id":"gen-1739458867-kUKFjpDGCEBBvK6V46PX","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":"stop"}]}';

Deno.test("SseSplitter yields each event with the blank line that ends it", async () => {
  const { events, pending } = await split(["data: a\n\ndata: b\n\n"]);
  assert.deepEqual(texts(events), ["data: a\n\n", "data: b\n\n"]);
  assert.equal(pending, 0);
});

Deno.test("SseSplitter yields many events from one chunk, comments included", async () => {
  const stream = ": OPENROUTER PROCESSING\n\n" +
    ": OPENROUTER PROCESSING\n\n" +
    `${CHUNK_1}\n\n` +
    `${CHUNK_2}\n\n` +
    "data: [DONE]\n\n";
  const { events, pending } = await split([stream]);
  assert.deepEqual(texts(events), [
    ": OPENROUTER PROCESSING\n\n",
    ": OPENROUTER PROCESSING\n\n",
    `${CHUNK_1}\n\n`,
    `${CHUNK_2}\n\n`,
    "data: [DONE]\n\n",
  ]);
  assert.equal(pending, 0);
});

Deno.test("SseSplitter reassembles an event split mid-line", async () => {
  const { events, pending } = await split([
    CHUNK_1.slice(0, 40),
    CHUNK_1.slice(40, 41),
    `${CHUNK_1.slice(41)}\n`,
    "\ndata: [DONE]\n\n",
  ]);
  assert.deepEqual(texts(events), [`${CHUNK_1}\n\n`, "data: [DONE]\n\n"]);
  assert.equal(pending, 0);
});

Deno.test("SseSplitter waits for the second line end when \\n\\n is split across chunks", () => {
  const splitter = new SseSplitter();
  const events: Uint8Array[] = [];
  splitter.push(bytes("data: a\n"));
  drain(splitter, events);
  assert.deepEqual(texts(events), []);
  assert.equal(splitter.pendingBytes, 8);
  splitter.push(bytes("\n"));
  drain(splitter, events);
  assert.deepEqual(texts(events), ["data: a\n\n"]);
  assert.equal(splitter.pendingBytes, 0);
});

Deno.test("SseSplitter splits on CRLF line ends", async () => {
  const { events, pending } = await split([
    "data: a\r\n\r\ndata: b\r\ndata: c\r\n\r\n",
  ]);
  assert.deepEqual(texts(events), [
    "data: a\r\n\r\n",
    "data: b\r\ndata: c\r\n\r\n",
  ]);
  assert.equal(pending, 0);
});

Deno.test("SseSplitter treats a CR at a chunk end and an LF in the next chunk as one CRLF", () => {
  const splitter = new SseSplitter();
  const events: Uint8Array[] = [];
  splitter.push(bytes("data: a\r"));
  drain(splitter, events);
  splitter.push(bytes("\n\r"));
  drain(splitter, events);
  // "data: a\r\n\r" could still be the start of a CRLF blank line.
  assert.deepEqual(texts(events), []);
  splitter.push(bytes("\ndata: b\r"));
  drain(splitter, events);
  splitter.push(bytes("\n\r\n"));
  drain(splitter, events);
  assert.deepEqual(texts(events), ["data: a\r\n\r\n", "data: b\r\n\r\n"]);
  assert.equal(splitter.pendingBytes, 0);
});

Deno.test("SseSplitter splits on CR-only line ends", async () => {
  const { events, pending } = await split([
    "data: a\r\r: ping\r\rdata: b\rdata: c\r\r",
    "data: [DONE]\n\n",
  ]);
  assert.deepEqual(texts(events), [
    "data: a\r\r",
    ": ping\r\r",
    "data: b\rdata: c\r\r",
    "data: [DONE]\n\n",
  ]);
  assert.equal(pending, 0);
});

Deno.test("SseSplitter holds an event whose final CR ends the input until the next byte shows it is no CRLF", async () => {
  const { events, pending } = await split(["data: a\r\rdata: b\r\r"]);
  assert.deepEqual(texts(events), ["data: a\r\r"]);
  assert.equal(pending, bytes("data: b\r\r").length);
});

Deno.test("SseSplitter keeps multi-line data in one event", async () => {
  const { events } = await split(['data: {"a":\ndata: 1}\n\n']);
  assert.deepEqual(texts(events), ['data: {"a":\ndata: 1}\n\n']);
  assert.equal(sseData(events[0]!), '{"a":\n1}');
});

Deno.test("SseSplitter reports the pending bytes of an incomplete event", () => {
  const splitter = new SseSplitter();
  assert.equal(splitter.pendingBytes, 0);
  splitter.push(bytes("data: a\n\ndata: b"));
  assert.equal(decoder.decode(splitter.next()), "data: a\n\n");
  assert.equal(splitter.next(), undefined);
  assert.equal(splitter.pendingBytes, 7);
});

Deno.test("SseSplitter yields nothing for an empty chunk", () => {
  const splitter = new SseSplitter();
  splitter.push(new Uint8Array(0));
  assert.equal(splitter.next(), undefined);
  assert.equal(splitter.pendingBytes, 0);
});

// A stream mixing every framing: a comment, CRLF, multi-byte UTF-8, `data:`
// without a space, multi-line data, CR-only line ends, then an unfinished event.
const MIXED_EVENTS = [
  ": OPENROUTER PROCESSING\n\n",
  'data: {"choices":[{"delta":{"content":"héllo 👋"}}]}\r\n\r\n',
  'data:{"x":1}\n\n',
  "data: line1\ndata: line2\n\n",
  "data: cr\r\r",
  "event: message\r\nid: 7\r\ndata: [DONE]\r\n\r\n",
];
const MIXED_PENDING = 'data: {"partial":';
const MIXED_INPUT = bytes(MIXED_EVENTS.join("") + MIXED_PENDING);

function assertExactViews(
  events: Uint8Array[],
  pending: number,
  label: string,
): void {
  assert.deepEqual(texts(events), MIXED_EVENTS, label);
  assert.equal(pending, bytes(MIXED_PENDING).length, label);
  assert.deepEqual(
    concatBytes(events),
    MIXED_INPUT.subarray(0, MIXED_INPUT.length - pending),
    label,
  );
}

Deno.test("SseSplitter returns views whose bytes equal the input exactly, at every two-chunk split", async () => {
  for (let cut = 0; cut <= MIXED_INPUT.length; cut++) {
    const { events, pending } = await split([
      MIXED_INPUT.slice(0, cut),
      MIXED_INPUT.slice(cut),
    ]);
    assertExactViews(events, pending, `cut at ${cut}`);
  }
});

Deno.test("SseSplitter returns views whose bytes equal the input exactly, fed one byte at a time", async () => {
  const chunks = Array.from(MIXED_INPUT, (b) => Uint8Array.of(b));
  const { events, pending } = await split(chunks);
  assertExactViews(events, pending, "byte by byte");
});

Deno.test("SseSplitter keeps views returned earlier intact after later pushes", () => {
  const splitter = new SseSplitter();
  splitter.push(bytes("data: first\n\ndata: sec"));
  const first = splitter.next()!;
  splitter.push(bytes("ond\n\n"));
  const second = splitter.next()!;
  splitter.push(bytes("data: third\n\n"));
  const third = splitter.next()!;
  assert.deepEqual(texts([first, second, third]), [
    "data: first\n\n",
    "data: second\n\n",
    "data: third\n\n",
  ]);
});

Deno.test("SseSplitter.detach() lets the caller reuse the chunk's buffer while an event is partial", () => {
  const splitter = new SseSplitter();
  const events: Uint8Array[] = [];
  // One reused read buffer, as a BYOB reader fills it.
  const buffer = new Uint8Array(32);
  const read = (text: string) => {
    buffer.fill(0x78); // "x": stale bytes must never leak into an event
    buffer.set(bytes(text));
    return buffer.subarray(0, text.length);
  };
  for (const piece of ["data: one\n\ndata: t", "wo\n", "\ndata: three\n\n"]) {
    splitter.push(read(piece));
    for (let event = splitter.next(); event; event = splitter.next()) {
      events.push(event.slice()); // what the caller keeps, it copies
    }
    splitter.detach();
  }
  assert.deepEqual(texts(events), [
    "data: one\n\n",
    "data: two\n\n",
    "data: three\n\n",
  ]);
  assert.equal(splitter.pendingBytes, 0);
});

Deno.test("SseSplitter.detach() with nothing pending drops the chunk and still splits what follows", () => {
  const splitter = new SseSplitter();
  splitter.push(bytes("data: a\n\n"));
  assert.equal(decoder.decode(splitter.next()), "data: a\n\n");
  splitter.detach();
  assert.equal(splitter.pendingBytes, 0);
  splitter.push(bytes("data: b\n"));
  splitter.detach();
  splitter.detach(); // idempotent once the splitter owns its buffer
  splitter.push(bytes("\n"));
  assert.equal(decoder.decode(splitter.next()), "data: b\n\n");
});

Deno.test('sseData() reads the value after "data: "', () => {
  assert.equal(sseData(bytes('data: {"a":1}\n\n')), '{"a":1}');
  assert.equal(sseData(bytes("data: [DONE]\n\n")), "[DONE]");
});

Deno.test('sseData() reads "data:" without a space and strips only one space', () => {
  assert.equal(sseData(bytes("data:x\n\n")), "x");
  assert.equal(sseData(bytes("data:  x\n\n")), " x");
  assert.equal(sseData(bytes("data:\n\n")), "");
  assert.equal(sseData(bytes("data\n\n")), "");
});

Deno.test("sseData() joins multi-line data with \\n across LF, CRLF and CR line ends", () => {
  assert.equal(sseData(bytes("data: a\ndata: b\n\n")), "a\nb");
  assert.equal(sseData(bytes("data: a\r\ndata: b\r\n\r\n")), "a\nb");
  assert.equal(sseData(bytes("data: a\rdata: b\r\r")), "a\nb");
  assert.equal(sseData(bytes("data: a\ndata\ndata: c\n\n")), "a\n\nc");
});

Deno.test("sseData() returns undefined for comments and events without data", () => {
  for (
    const event of [
      ": OPENROUTER PROCESSING\n\n",
      "event: ping\n\n",
      "id: 1\nretry: 1000\n\n",
      "\n",
    ]
  ) {
    assert.equal(sseData(bytes(event)), undefined, JSON.stringify(event));
  }
});

Deno.test("sseData() ignores other fields, including ones whose name starts with data", () => {
  assert.equal(
    sseData(bytes("event: message\nid: 7\ndata: x\nretry: 10\n\n")),
    "x",
  );
  assert.equal(sseData(bytes("datax: y\ndata: z\n\n")), "z");
  assert.equal(sseData(bytes(": data: no\ndata: yes\n\n")), "yes");
});

Deno.test("sseData() decodes UTF-8", () => {
  assert.equal(sseData(bytes("data: héllo 👋\n\n")), "héllo 👋");
});

Deno.test("sseErrorEvent() frames an OpenAI error object as one data event", () => {
  assert.equal(
    decoder.decode(
      sseErrorEvent(
        "Stream from qwen/qwen3-coder:free broke off: the connection was lost",
        "connection_lost",
      ),
    ),
    'data: {"error":{"message":"Stream from qwen/qwen3-coder:free broke off: the connection was lost","type":"upstream_error","param":null,"code":"connection_lost"}}\n\n',
  );
});

Deno.test("sseErrorEvent() accepts a numeric or null code and a custom type", () => {
  assert.equal(
    decoder.decode(sseErrorEvent("Rate limit exceeded", 429)),
    'data: {"error":{"message":"Rate limit exceeded","type":"upstream_error","param":null,"code":429}}\n\n',
  );
  assert.equal(
    decoder.decode(sseErrorEvent("boom", null, "server_error")),
    'data: {"error":{"message":"boom","type":"server_error","param":null,"code":null}}\n\n',
  );
});

Deno.test("sseErrorEvent() output is one event that SseSplitter and sseData read back", async () => {
  const message = 'quote " and\nnewline\r\n\n: not a comment';
  const event = sseErrorEvent(message, 502);
  const { events, pending } = await split([event]);
  assert.equal(events.length, 1);
  assert.equal(pending, 0);
  assert.deepEqual(events[0], event);
  assert.deepEqual(JSON.parse(sseData(events[0]!)!), {
    error: { message, type: "upstream_error", param: null, code: 502 },
  });
});

Deno.test("concatBytes() joins chunks in order", () => {
  assert.deepEqual(
    concatBytes([Uint8Array.of(1, 2), new Uint8Array(0), Uint8Array.of(3)]),
    Uint8Array.of(1, 2, 3),
  );
  assert.deepEqual(concatBytes([]), new Uint8Array(0));
  const only = Uint8Array.of(9);
  assert.equal(concatBytes([only]), only);
});

Deno.test("copyBytes() always returns a new array, even for a single chunk", () => {
  const only = Uint8Array.of(1, 2, 3);
  const copy = copyBytes([only.subarray(1)]);
  assert.deepEqual(copy, Uint8Array.of(2, 3));
  only[1] = 9;
  assert.deepEqual(copy, Uint8Array.of(2, 3));
  assert.deepEqual(
    copyBytes([Uint8Array.of(1), Uint8Array.of(2)]),
    Uint8Array.of(1, 2),
  );
});
