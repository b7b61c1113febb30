/**
 * Test harness: a fake OpenRouter, a handler pointed at it, and a clock the
 * test moves by hand.
 */
import {
  createHandler,
  type FreeModel,
  type FreeRouterHandler,
  type HandlerOptions,
} from "../src/mod.ts";
import {
  type FakeOpenRouter,
  type FakeOpenRouterOptions,
  startFakeOpenRouter,
} from "./fake_openrouter.ts";

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
