/**
 * Test harness: a fake OpenRouter, a handler or a client pointed at it, and
 * a clock the test moves by hand.
 */
import {
  type ChatMessage,
  createHandler,
  type FreeModel,
  FreeRouterClient,
  type FreeRouterClientOptions,
  type FreeRouterHandler,
  type HandlerOptions,
} from "../src/mod.ts";
import {
  type FakeOpenRouter,
  type FakeOpenRouterOptions,
  startFakeOpenRouter,
} from "./fake_openrouter/mod.ts";
import { BUILTIN_ALIASES } from "../src/core/aliases.ts";

/** The built-in aliases `/v1/models` lists after the pool's models. */
export const ALIAS_IDS: readonly string[] = BUILTIN_ALIASES.map((a) => a.name);

/** The server-side OpenRouter key used in tests. */
export const SERVER_KEY = "sk-or-v1-server-key-0123456789abcdef";

/** A clock that only moves when told to. */
export interface ManualClock {
  now: () => number;
  advance(ms: number): void;
}

/** A manual clock starting at a fixed instant. */
export function manualClock(
  start = Date.parse("2026-11-24T12:00:00Z"),
): ManualClock {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

/** A fake OpenRouter plus a handler routing to it. */
export interface Rig extends AsyncDisposable {
  fake: FakeOpenRouter;
  handler: FreeRouterHandler;
  clock: ManualClock;
  /** POSTs a chat completion body (an object, or raw text) to the handler. */
  chat(body: unknown, init?: RequestInit): Promise<Response>;
  /** Sends any request to the handler. */
  request(path: string, init?: RequestInit): Promise<Response>;
}

/** Options of {@link rig}. */
export interface RigOptions extends HandlerOptions {
  fakeOptions?: FakeOpenRouterOptions;
  /** Reuse an existing fake (e.g. across a restart). */
  fake?: FakeOpenRouter;
  clock?: ManualClock;
}

/** Starts a fake OpenRouter and a handler in front of it. */
export function rig(options: RigOptions = {}): Rig {
  const { fakeOptions, fake: given, clock: givenClock, ...handlerOptions } =
    options;
  const fake = given ?? startFakeOpenRouter(fakeOptions);
  const clock = givenClock ?? manualClock();
  const handler = createHandler({
    apiKey: SERVER_KEY,
    baseUrl: fake.baseUrl,
    now: clock.now,
    requestTimeout: 5,
    // The fake's default catalog carries no benchmark data, and the tests
    // name models by their place in the stored order; the quality order has
    // tests of its own (ranking_test.ts, aliases_test.ts).
    strategy: "priority",
    // Off unless a test is about them: most tests send the same first
    // message again and expect the pool order, and retry no named model.
    affinity: false,
    sameModelWait: 0,
    ...handlerOptions,
  });
  const request = (path: string, init?: RequestInit) =>
    handler(new Request(`http://freerouter.test${path}`, init));
  return {
    fake,
    handler,
    clock,
    request,
    chat: (body, init) =>
      request("/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json", ...init?.headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
        ...init,
      }),
    async [Symbol.asyncDispose]() {
      await handler.close();
      if (!given) await fake.close();
    },
  };
}

/** A minimal valid chat body. */
export function hello(
  model = "auto",
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { model, messages: [{ role: "user", content: "Hello" }], ...extra };
}

/** A minimal valid Anthropic Messages body. */
export const FIRST_MESSAGE = {
  model: "auto",
  max_tokens: 64,
  messages: [{ role: "user", content: "Hello" }],
} as const;

/** A first message on each front: chat completions, Messages, Responses. */
export const HELLO_ON_EVERY_FRONT: ReadonlyArray<readonly [string, unknown]> = [
  ["/v1/chat/completions", hello()],
  ["/v1/messages", FIRST_MESSAGE],
  ["/v1/responses", { model: "auto", input: "Hello" }],
];

/** POSTs `body` as JSON to `path` on the rig's handler. */
export function postJson(
  r: Rig,
  path: string,
  body: unknown,
): Promise<Response> {
  return r.request(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** Reads a response's JSON body. */
export async function jsonOf(res: Response): Promise<Record<string, unknown>> {
  return await res.json() as Record<string, unknown>;
}

/** A pool entry (what the free-pool rules produce) with defaults for what a test does not care about. */
export function freeModel(id: string, contextLength: number): FreeModel {
  return {
    id,
    name: id,
    created: 0,
    owned_by: id.split("/")[0]!,
    context_length: contextLength,
    max_completion_tokens: null,
    supported_parameters: null,
    input_modalities: ["text"],
    expiration_date: null,
  };
}

/** The OpenRouter key of the clients under test. */
export const CLIENT_KEY = "sk-or-v1-client-test-key-0123456789abcdef";

/** A one-message conversation for the client. */
export const MESSAGES: ChatMessage[] = [{ role: "user", content: "Hello" }];

/** A client pointed at the fake, on the manual clock, without the account limiter. */
export function clientFor(
  fake: FakeOpenRouter,
  clock: ManualClock,
  options: FreeRouterClientOptions = {},
): FreeRouterClient {
  return new FreeRouterClient({
    apiKey: CLIENT_KEY,
    baseUrl: fake.baseUrl,
    now: clock.now,
    rpm: 0,
    strategy: "priority", // see rig()
    affinity: false,
    sameModelWait: 0,
    ...options,
  });
}

/** Runs `fn` with the path of a KV file in a fresh temp dir, removed after. */
export async function withKvFile(
  fn: (path: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "freerouter-kv-" });
  try {
    await fn(`${dir}/kv.sqlite`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** `s` with every RegExp metacharacter escaped. */
export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** Captures what `run()` (src/server/main.ts) prints: its lines, and the `io` to pass it. */
export function captureIo(): {
  out: string[];
  err: string[];
  io: { out: (text: string) => void; err: (text: string) => void };
} {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      out: (t: string) => void out.push(t),
      err: (t: string) => void err.push(t),
    },
  };
}
