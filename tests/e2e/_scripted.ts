/**
 * What the end-to-end runs share: freerouter started as `deno task start`
 * starts it, in front of a fake OpenRouter whose every free model answers
 * from the request's content (a marker in the prompt asks for a tool call, a
 * tool result present asks for the closing text).
 */
import assert from "node:assert/strict";
import { startMain } from "../_deno_process.ts";
import {
  chatMessagesOf,
  textOf,
  type ToolCall,
  toolCallAnswer,
  toolCallStream,
} from "../_agent_fronts.ts";
import {
  chunk,
  defaultCatalog,
  DONE,
  type DynamicStep,
  errorStatus,
  type FakeOpenRouter,
  type FakeOpenRouterOptions,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER,
  ok,
  PROCESSING,
  providerError502,
  sseData,
  startFakeOpenRouter,
  type Step,
  streamErrorEvent,
  streamOk,
} from "../fake_openrouter/mod.ts";

/** Bound of one client run, in seconds (the outer `timeout`). */
export const CLIENT_TIMEOUT_SEC = 90;

/** A chat request as the fake received it. */
export interface Conversation {
  /** The model freerouter sent it to. */
  model: string;
  stream: boolean;
  messages: Array<Record<string, unknown>>;
}

/** The parts of a chat request body a responder reads. */
export function conversationOf(body: unknown): Conversation {
  const b = body as { model?: unknown; stream?: unknown };
  return {
    model: String(b.model),
    stream: b.stream === true,
    messages: chatMessagesOf(body),
  };
}

/** The text of the user messages. */
export function userText(c: Conversation): string {
  return c.messages.filter((m) => m.role === "user").map(textOf).join("\n");
}

/** The text of the `tool` messages (the tool results sent back). */
export function toolResults(c: Conversation): string[] {
  return c.messages.filter((m) => m.role === "tool").map(textOf);
}

/** A text answer, streamed (in a few pieces) when the request streams. */
export function answerText(c: Conversation, text: string): Step {
  if (!c.stream) return ok(c.model, text);
  const cut = Math.ceil(text.length / 2);
  return { stream: streamOk(c.model, [text.slice(0, cut), text.slice(cut)]) };
}

/**
 * Every free model refuses: `text` as the message's `refusal`, no content
 * (streamed in two pieces when the request streams). Returns the text.
 */
export function scriptRefusal(fake: FakeOpenRouter): string {
  const text = `I can't help with ${nonce()}.`;
  scriptEveryModel(fake, (c) => {
    if (!c.stream) {
      const step = ok(c.model, null);
      const body = step.body as { choices: Array<{ message: object }> };
      body.choices[0]!.message = {
        ...body.choices[0]!.message,
        refusal: text,
      };
      return step;
    }
    const cut = Math.ceil(text.length / 2);
    return {
      stream: {
        parts: [
          chunk(c.model, { role: "assistant", content: "" }),
          chunk(c.model, { refusal: text.slice(0, cut) }),
          chunk(c.model, { refusal: text.slice(cut) }),
          chunk(c.model, { content: "" }, "stop"),
          DONE,
        ],
      },
    };
  });
  return text;
}

/**
 * The first request's streamed answer breaks after half of a fresh text: a
 * keep-alive comment, then an error event (freerouter resumes it on the next
 * model, which answers the whole text: the repeat of the forwarded half is
 * dropped). Returns the text the client should end with.
 */
export function scriptBreakingOnce(fake: FakeOpenRouter): string {
  const text = `A whole answer for ${nonce()}, in two halves.`;
  let calls = 0;
  scriptEveryModel(fake, (c) => {
    if (++calls > 1 || !c.stream) return answerText(c, text);
    return breakingStream([
      chunk(c.model, { role: "assistant", content: "" }),
      chunk(c.model, text.slice(0, Math.ceil(text.length / 2))),
    ]);
  });
  return text;
}

/**
 * The first streamed answer breaks after its first half; the first model
 * asked to continue it finishes at once, adding nothing; the next one
 * continues with the second half. Returns the whole text.
 */
export function scriptBreakingThenNothingAdded(fake: FakeOpenRouter): string {
  const text = `A whole answer for ${nonce()}, in two halves.`;
  const cut = Math.ceil(text.length / 2);
  let calls = 0;
  scriptEveryModel(fake, (c) => {
    if (!c.stream) return answerText(c, text);
    switch (++calls) {
      case 1:
        return breakingStream([
          chunk(c.model, { role: "assistant", content: "" }),
          chunk(c.model, text.slice(0, cut)),
        ]);
      case 2:
        return { stream: streamOk(c.model, []) };
      default:
        return answerText(c, text.slice(cut));
    }
  });
  return text;
}

/**
 * The resumption runs each client makes: when the stream breaks, the
 * script that makes it so, and the upstream requests the whole answer takes.
 */
export const RESUMPTIONS = [
  [
    "the stream breaks halfway (freerouter resumes it on the next model, with keep-alives)",
    scriptBreakingOnce,
    2,
  ],
  [
    "the first model asked to continue a broken stream adds nothing (the next one finishes it)",
    scriptBreakingThenNothingAdded,
    3,
  ],
] as const;

/**
 * A stream that writes `parts`, then breaks without a `finish_reason`: a
 * keep-alive comment, an error event (502), and the connection left open.
 */
export function breakingStream(parts: string[]): Step {
  return {
    stream: {
      parts: [
        ...parts,
        PROCESSING,
        streamErrorEvent({ withChoices: true, code: 502 }),
      ],
      end: "hang",
    },
  };
}

/** An answer calling one tool, streamed when the request streams. */
export function answerToolCall(c: Conversation, call: ToolCall): Step {
  return answerToolCalls(c, [call]);
}

/** An answer calling `calls` (in parallel), streamed when the request streams. */
export function answerToolCalls(
  c: Conversation,
  calls: readonly ToolCall[],
): Step {
  return c.stream
    ? { stream: toolCallStream(c.model, calls, { pieces: 3 }) }
    : toolCallAnswer(c.model, calls);
}

/**
 * Queues `respond` on every free model of the fake's catalog, `copies`
 * times: whichever model freerouter picks answers from the request.
 */
export function scriptEveryModel(
  fake: FakeOpenRouter,
  respond: (c: Conversation) => Step,
  copies = 6,
): void {
  const step: DynamicStep = {
    respond: (body) => respond(conversationOf(body)),
  };
  for (const id of FREE_CHAT_IDS_IN_PRIORITY_ORDER) {
    fake.script(id, ...Array.from({ length: copies }, () => step));
  }
}

/** Every free model of the fake's catalog answers 503 "Provider returned error", `copies` times: an outage of the whole pool. */
export function scriptOutage(fake: FakeOpenRouter, copies: number): void {
  for (const id of FREE_CHAT_IDS_IN_PRIORITY_ORDER) {
    fake.script(
      id,
      ...Array.from(
        { length: copies },
        () => errorStatus(503, "Provider returned error"),
      ),
    );
  }
}

/** A fake OpenRouter and freerouter in front of it, as `deno task start` runs it. */
export interface Stack {
  fake: FakeOpenRouter;
  /** freerouter's origin, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** What freerouter logged. */
  stderr(): string;
}

/**
 * Runs `fn` with a fresh fake (started with `fakeOptions`) and freerouter
 * (its settings as `startMain` gives them, then `env`); stops both
 * afterwards.
 */
export async function withStack(
  fn: (stack: Stack) => Promise<void>,
  env: Record<string, string> = {},
  fakeOptions: FakeOpenRouterOptions = {},
) {
  await using fake = startFakeOpenRouter(fakeOptions);
  const main = await startMain({
    OPENROUTER_API_KEY: "sk-or-v1-e2e-server-key-0123456789",
    OPENROUTER_BASE_URL: fake.baseUrl,
    HOST: "127.0.0.1",
    FREEROUTER_KV_PATH: ":memory:",
    ...env,
  });
  try {
    await fn({ fake, url: main.url, stderr: main.stderr });
  } finally {
    await main.stop();
  }
}

/**
 * Gives every model of the fake's catalog a context window of `tokens`, too
 * small for an agent's first request (its system prompt and tools alone).
 */
export function shrinkContexts(fake: FakeOpenRouter, tokens: number): void {
  for (const row of fake.models) {
    if (typeof row !== "object" || row === null) continue;
    const model = row as {
      context_length?: number;
      top_provider?: { context_length?: number };
    };
    model.context_length = tokens;
    if (model.top_provider) model.top_provider.context_length = tokens;
  }
}

/**
 * A streamed answer of `text` whose usage counts the request as a provider
 * would, about a token per four characters of its body (the fake's own usage
 * is a constant): coding agents decide when to compact from it.
 */
export function answerWithUsage(
  body: unknown,
  c: Conversation,
  text: string,
): Step {
  const prompt = Math.ceil(JSON.stringify(body).length / 4);
  const usage = {
    prompt_tokens: prompt,
    completion_tokens: 20,
    total_tokens: prompt + 20,
  };
  return {
    stream: {
      parts: [
        chunk(c.model, { role: "assistant", content: "" }),
        chunk(c.model, text),
        chunk(c.model, { content: "" }, "stop"),
        sseData({
          id: "gen-usage",
          object: "chat.completion.chunk",
          model: c.model,
          created: 0,
          choices: [],
          usage,
        }),
        DONE,
      ],
    },
  };
}

/** A shell command whose output ("e2e-42-<nonce>") is not in its own text, so the output proves it ran. */
export function markerCommand(nonce: string): {
  command: string;
  output: string;
} {
  return {
    command: `echo "e2e-$((6*7))-${nonce}"`,
    output: `e2e-42-${nonce}`,
  };
}

/** A short random token for one run. */
export function nonce(): string {
  return crypto.randomUUID().slice(0, 8);
}

/**
 * Checks a tool round trip as the fake saw it: two chat requests, the second
 * carrying the assistant's tool call (`id`, `name`, the argument `key` equal
 * to `value`) and a `tool` message for it whose content holds `output`.
 */
export function assertToolRoundTrip(
  fake: FakeOpenRouter,
  call: { id: string; name: string; key: string; value: string },
  output: string,
): void {
  const requests = fake.chatRequests();
  assert.equal(requests.length, 2);
  const follow = requests[1]!.body as {
    messages: Array<Record<string, unknown>>;
  };
  const assistant = follow.messages.find((m) =>
    m.role === "assistant" && Array.isArray(m.tool_calls)
  );
  const calls = assistant?.tool_calls as Array<
    { id: string; function: { name: string; arguments: string } }
  >;
  assert.equal(calls?.[0]?.id, call.id);
  assert.equal(calls?.[0]?.function.name, call.name);
  assert.equal(JSON.parse(calls![0]!.function.arguments)[call.key], call.value);
  const tool = follow.messages.find((m) => m.role === "tool");
  assert.equal(tool?.tool_call_id, call.id);
  assert.match(JSON.stringify(tool?.content), new RegExp(output));
}

/** The two models of a fallback the fake saw: the first failed, another answered. */
export function fallbackModels(
  fake: FakeOpenRouter,
  detail: string,
): Array<string | undefined> {
  const models = fake.chatRequests().map((r) => r.model);
  assert.equal(models.length, 2, detail);
  assert.notEqual(models[0], models[1]);
  return models;
}

/** What every model answers a greeting for `word` with (see {@link scriptGreeting}). */
export function greeting(word: string, model: string | undefined): string {
  return `Hello ${word}, from ${model}.`;
}

/** Every free model greets `word` when the prompt asks it to. */
export function scriptGreeting(fake: FakeOpenRouter, word: string): void {
  scriptEveryModel(fake, (c) =>
    answerText(
      c,
      userText(c).includes(`greet ${word}`)
        ? greeting(word, c.model)
        : "the prompt did not arrive",
    ));
}

/** The answer to a tool result that holds `output` (see {@link scriptToolTurn}). */
export function toolDone(output: string): string {
  return `The tool said: ${output} (TOOL-ROUNDTRIP-DONE)`;
}

/**
 * Every free model answers a prompt holding `marker` with `call`, and the
 * tool result holding `output` with {@link toolDone}.
 */
export function scriptToolTurn(
  fake: FakeOpenRouter,
  marker: string,
  output: string,
  call: ToolCall,
): void {
  scriptEveryModel(fake, toolTurn(marker, output, call));
}

/** How every model answers in {@link scriptToolTurn}. */
function toolTurn(
  marker: string,
  output: string,
  call: ToolCall,
): (c: Conversation) => Step {
  return (c) => {
    const results = toolResults(c);
    if (results.length > 0) {
      const seen = results.find((r) => r.includes(output));
      return answerText(
        c,
        seen ? toolDone(output) : `no tool output in: ${results.join(" | ")}`,
      );
    }
    if (userText(c).includes(marker)) return answerToolCall(c, call);
    return answerText(c, "the marker did not arrive");
  };
}

/**
 * Two sessions of a client, one after the other in one directory, each
 * asking for one tool call (`tool` of the marker command) and answered
 * after its result, with conversation affinity on. The very first request
 * fails with a 502 (transient: no cooldown), so the first session's turns
 * go to the runner-up and only affinity keeps them there; the second
 * session, another conversation, starts again from the pool's first.
 * `run` runs the client on a prompt and gives its final answer.
 */
export async function checkSessionAffinity(
  tool: (command: string) => { name: string; arguments: unknown },
  run: (
    url: string,
    prompt: string,
    userDir: string,
  ) => Promise<{ answer: string | undefined; detail: string }>,
): Promise<void> {
  await withStack(async ({ fake, url }) => {
    const marker = `E2E-AFFINITY-${nonce()}`;
    const { command, output } = markerCommand(nonce());
    const { name, arguments: args } = tool(command);
    const answer = toolTurn(marker, output, {
      id: "call_e2e_affinity",
      name,
      arguments: JSON.stringify(args),
    });
    let failed = false;
    scriptEveryModel(fake, (c) => {
      if (failed) return answer(c);
      failed = true;
      return providerError502(c.model ?? "unknown");
    });
    const userDir = await Deno.makeTempDir({ prefix: "freerouter-affinity-" });
    try {
      const first = await run(url, `Run the command for ${marker}.`, userDir);
      assert.equal(first.answer, toolDone(output), first.detail);
      assert.equal(fake.chatRequests().length, 3, first.detail);
      // The same prompt: only what the client tells of its session parts them.
      const second = await run(url, `Run the command for ${marker}.`, userDir);
      assert.equal(second.answer, toolDone(output), second.detail);
      const models = fake.chatRequests().map((r) => r.model);
      const [failedOn, answeredBy] = models;
      assert.notEqual(failedOn, answeredBy);
      assert.deepEqual(models, [
        failedOn,
        answeredBy,
        answeredBy,
        ...Array(models.length - 3).fill(failedOn),
      ], second.detail);
      assert.equal(models.length, 5, second.detail);
    } finally {
      await Deno.remove(userDir, { recursive: true });
    }
  }, { FREEROUTER_AFFINITY: "on" });
}

/** The answer to tool results that hold every one of `outputs` (see {@link scriptParallelCallsBreakingOnce}). */
export function toolsDone(outputs: readonly string[]): string {
  return toolDone(outputs.join(" and "));
}

/**
 * Every free model answers a prompt holding `marker` with the parallel
 * `calls` (complete), and tool results holding every one of `outputs` with
 * {@link toolsDone}; but the first streamed answer breaks inside the last
 * call's arguments, after the calls before it were complete (the first
 * half of its arguments, then {@link breakingStream}). freerouter holds tool
 * calls until the finish and commits only calls that all parse, so that
 * break falls back before anything reached the client.
 */
export function scriptParallelCallsBreakingOnce(
  fake: FakeOpenRouter,
  marker: string,
  calls: readonly ToolCall[],
  outputs: readonly string[],
): void {
  let attempts = 0;
  scriptEveryModel(fake, (c) => {
    const results = toolResults(c);
    if (results.length > 0) {
      const missing = outputs.filter((o) =>
        !results.some((r) => r.includes(o))
      );
      return answerText(
        c,
        missing.length === 0
          ? toolsDone(outputs)
          : `tool outputs missing (${missing.join(", ")}) in: ${
            results.join(" | ")
          }`,
      );
    }
    if (!userText(c).includes(marker)) {
      return answerText(c, "the marker did not arrive");
    }
    if (++attempts > 1 || !c.stream) return answerToolCalls(c, calls);
    // The calls, the last one's arguments cut in half; no finish, no [DONE].
    const last = calls.length - 1;
    const cut = calls[last]!;
    const halves = toolCallStream(c.model, [
      ...calls.slice(0, last),
      {
        ...cut,
        arguments: cut.arguments.slice(0, Math.floor(cut.arguments.length / 2)),
      },
    ], { pieces: 3 });
    return breakingStream((halves.parts as string[]).slice(0, -3));
  });
}

/**
 * Checks, as the fake saw them, the fallback and round trip of
 * {@link scriptParallelCallsBreakingOnce}: three chat requests, the first
 * (streamed) to one model and the second to another (which sent the calls),
 * the third carrying the assistant's `calls` (ids, names, arguments) and a
 * `tool` message per call holding its entry of `outputs`. Returns the models
 * of the first two requests.
 */
export function assertParallelRoundTrip(
  fake: FakeOpenRouter,
  calls: readonly ToolCall[],
  outputs: readonly string[],
  detail: string,
): Array<string | undefined> {
  const requests = fake.chatRequests();
  assert.equal(requests.length, 3, detail);
  assert.equal((requests[0]!.body as { stream?: boolean }).stream, true);
  const models = [requests[0]!.model, requests[1]!.model];
  assert.ok(models[0], "the first model was asked");
  assert.notEqual(models[1], models[0], "another model answered");
  const follow = requests[2]!.body as {
    messages: Array<Record<string, unknown>>;
  };
  const assistant = follow.messages.find((m) =>
    m.role === "assistant" && Array.isArray(m.tool_calls)
  );
  const sent = assistant?.tool_calls as Array<
    { id: string; function: { name: string; arguments: string } }
  >;
  assert.deepEqual(sent?.map((t) => t.id), calls.map((t) => t.id), detail);
  const tools = follow.messages.filter((m) => m.role === "tool");
  assert.equal(tools.length, calls.length, detail);
  calls.forEach((call, i) => {
    assert.equal(sent[i]!.function.name, call.name);
    assert.deepEqual(
      JSON.parse(sent[i]!.function.arguments),
      JSON.parse(call.arguments),
    );
    const tool = tools.find((m) => m.tool_call_id === call.id);
    assert.match(JSON.stringify(tool?.content), new RegExp(outputs[i]!));
  });
  return models;
}

/** A 1×1 PNG, for a client to attach or read. */
export const PNG_1X1: Uint8Array = Uint8Array.from(
  atob(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  ),
  (c) => c.charCodeAt(0),
);

/** How many `image_url` parts a request's messages hold. */
export function imagesIn(c: Conversation): number {
  return JSON.stringify(c.messages).match(/"type":"image_url"/g)?.length ?? 0;
}

/** The answer of a model that saw `images` images (see {@link imagesIn}). */
export function imagesSeen(images: number, model: string): string {
  return `seen ${images} by ${model}`;
}

/** The requests the fake got that held an image, and whether each went to a model whose catalog row takes images. */
export function imageRequests(
  fake: FakeOpenRouter,
): Array<{ model: string; takesImages: boolean }> {
  const rows = defaultCatalog() as {
    id: string;
    architecture: { input_modalities?: string[] };
  }[];
  return fake.chatRequests().map((r) => conversationOf(r.body))
    .filter((c) => imagesIn(c) > 0)
    .map((c) => ({
      model: c.model,
      takesImages: rows.find((m) => m.id === c.model)?.architecture
        .input_modalities?.includes("image") === true,
    }));
}

/** A one-page PDF saying "Hello PDF", for a client to read. */
export const PDF_ONE_PAGE: Uint8Array = new TextEncoder().encode(`%PDF-1.4
1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj
2 0 obj <</Type /Pages /Kids [3 0 R] /Count 1>> endobj
3 0 obj <</Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R /Resources <</Font <</F1 5 0 R>>>>>> endobj
4 0 obj <</Length 44>> stream
BT /F1 24 Tf 20 100 Td (Hello PDF) Tj ET
endstream endobj
5 0 obj <</Type /Font /Subtype /Type1 /BaseFont /Helvetica>> endobj
trailer <</Size 6 /Root 1 0 R>>
%%EOF
`);

/** How many `file` parts a request's messages hold. */
export function filesIn(c: Conversation): number {
  return JSON.stringify(c.messages).match(/"type":"file"/g)?.length ?? 0;
}
