/**
 * The one way every front (chat completions, Anthropic Messages, OpenAI
 * Responses) reaches the router: the client's model list and limits first,
 * then, when the response cache is on, the cache and in-flight coalescing.
 *
 * - A request whose canonical body (see `core/cached_answer.ts`) and client
 *   key (its hash) match an answer stored within the TTL is answered from it,
 *   without an upstream attempt (`X-FreeRouter-Cache: hit`); a streaming one
 *   gets the answer replayed as a stream.
 * - An identical request arriving while the first is in flight waits for its
 *   answer (`coalesced`). When the first fails on its own account (its
 *   client went away, the stream broke), the waiters carry on as if they had
 *   arrived alone; a routing failure (a 429, all candidates failed, an
 *   upstream refusal) is theirs too.
 * - Only complete, successful answers are stored (streams: recorded as they
 *   pass). `n` > 1, `Cache-Control: no-cache`/`no-store` and
 *   `X-FreeRouter-Cache: bypass` skip the cache both ways (`bypass`).
 *
 * Client limits count the requests that go to the router: a cache hit or a
 * coalesced answer spends no quota, and counts for nobody.
 *
 * @module
 */
import {
  cacheBypass,
  canonicalRequest,
  storable,
} from "../core/cached_answer.ts";
import { FreeRouterError, UpstreamHTTPError } from "../errors.ts";
import type { RouteContext, Routed } from "../router.ts";
import { accountIdOf } from "../state/account_id.ts";
import type { ResponseCache } from "../state/response_cache.ts";
import type { ChatCompletion, ChatCompletionRequest } from "../types.ts";
import type { CompletionAnswer } from "../upstream/completion_attempt.ts";
import type { StreamAnswer } from "../upstream/stream_attempt.ts";
import { clientKey } from "./auth.ts";
import type { HandlerContext, Trace } from "./context.ts";
import { recordStream, replayStream } from "./stream_record.ts";

/** What the response cache did with a request. */
export type CacheStatus = "hit" | "miss" | "coalesced" | "bypass";

/** A routed answer, and what the cache did. */
export interface Served<T> extends Routed<T> {
  /** Absent when the cache is off. */
  cache?: CacheStatus;
}

/** An answer shared with identical requests. */
interface Shared {
  completion: ChatCompletion;
  text: string;
}

/** The response cache of a handler. */
export interface CacheRuntime {
  store: ResponseCache;
  ttlMs: number;
  /** The leaders in flight, by cache key: resolve with their answer, or `undefined`. */
  inflight: Map<string, Promise<Shared | undefined>>;
  /** Background stores, awaited on close. */
  pending: Set<Promise<unknown>>;
  /** Requests waiting now for an identical one in flight. */
  waiting: number;
  warn: (message: string) => void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** How one kind of answer is routed, recorded and rebuilt from a stored completion. */
interface Kind<T> {
  route(
    ctx: HandlerContext,
    chat: ChatCompletionRequest,
    context: RouteContext,
  ): Promise<Routed<T>>;
  record(
    routed: Routed<T>,
    done: (shared: Shared | undefined) => void,
  ): Routed<T>;
  replay(shared: Shared): T;
}

const STREAM: Kind<StreamAnswer> = {
  route: (ctx, chat, context) => ctx.router.stream(chat, context),
  record: (routed, done) => ({
    ...routed,
    answer: {
      ...routed.answer,
      body: recordStream(routed.answer.body, (completion) =>
        done(
          completion
            ? { completion, text: JSON.stringify(completion) }
            : undefined,
        )),
    },
  }),
  replay: ({ completion }) => ({
    status: 200,
    headers: new Headers({ "content-type": "text/event-stream" }),
    body: replayStream(completion),
  }),
};

const COMPLETE: Kind<CompletionAnswer> = {
  route: (ctx, chat, context) => ctx.router.complete(chat, context),
  record: (routed, done) => {
    const { json, bytes } = routed.answer;
    done(
      json && storable(json) && bytes instanceof Uint8Array
        ? { completion: json, text: decoder.decode(bytes) }
        : undefined,
    );
    return routed;
  },
  replay: ({ completion, text }) => ({
    status: 200,
    headers: new Headers({ "content-type": "application/json" }),
    bytes: encoder.encode(text),
    json: completion,
  }),
};

/** Routes a streaming request (resolves once a stream is committed or replayed). */
export function streamAnswer(
  ctx: HandlerContext,
  trace: Trace,
  chat: ChatCompletionRequest,
  context: RouteContext,
): Promise<Served<StreamAnswer>> {
  return answer(STREAM, ctx, trace, chat, context);
}

/** Routes a non-streaming request. */
export function completeAnswer(
  ctx: HandlerContext,
  trace: Trace,
  chat: ChatCompletionRequest,
  context: RouteContext,
): Promise<Served<CompletionAnswer>> {
  return answer(COMPLETE, ctx, trace, chat, context);
}

async function answer<T>(
  kind: Kind<T>,
  ctx: HandlerContext,
  trace: Trace,
  chat: ChatCompletionRequest,
  asked: RouteContext,
): Promise<Served<T>> {
  const { clients, cache } = ctx;
  const { now } = ctx.resolved;
  const client = clients?.byName(trace.client);
  clients?.checkModel(client, chat.model);
  const context = clients?.contextFor(client, chat.model, asked) ?? asked;
  const headers = trace.request?.headers;
  const bypass = cache !== undefined && cacheBypass(
        chat,
        headers?.get("cache-control") ?? null,
        headers?.get("x-freerouter-cache") ?? null,
      ) !== undefined;
  if (cache === undefined || bypass) {
    await clients?.count(client, now());
    const routed = await kind.route(ctx, chat, context);
    return served(ctx, trace, routed, cache ? "bypass" : undefined);
  }
  const key = await cacheKey(trace, chat, context);
  for (;;) {
    const text = await cache.store.get(key, now()).catch((err) => {
      cache.warn(`Response cache unavailable: ${err}`);
      return undefined;
    });
    const stored = text === undefined ? undefined : parsed(text);
    if (stored) return replayed(ctx, trace, kind, stored, "hit");
    const leader = cache.inflight.get(key);
    if (leader === undefined) break;
    cache.waiting++;
    let shared: Shared | undefined;
    try {
      shared = await leader; // a routing failure is this request's too
    } finally {
      cache.waiting--;
    }
    if (shared) return replayed(ctx, trace, kind, shared, "coalesced");
    // The leader failed on its own account: look again, or lead.
  }
  let settle!: (shared: Shared | undefined) => void;
  let fail!: (err: unknown) => void;
  const result = new Promise<Shared | undefined>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  result.catch(() => {}); // nobody may be waiting
  cache.inflight.set(key, result);
  const release = () => {
    if (cache.inflight.get(key) === result) cache.inflight.delete(key);
  };
  try {
    await clients?.count(client, now());
    const routed = await kind.route(ctx, chat, context);
    const recorded = kind.record(routed, (shared) => {
      release();
      settle(shared);
      if (shared) store(cache, key, shared.text, now());
    });
    return served(ctx, trace, recorded, "miss");
  } catch (err) {
    release();
    if (shareable(err)) fail(err);
    else settle(undefined);
    throw err;
  }
}

/** Whether identical requests waiting on this failure fail with it. */
function shareable(err: unknown): boolean {
  return err instanceof UpstreamHTTPError ||
    (err instanceof FreeRouterError && err.code !== "aborted");
}

function served<T>(
  ctx: HandlerContext,
  trace: Trace,
  routed: Routed<T>,
  status: CacheStatus | undefined,
): Served<T> {
  if (status) {
    trace.cache = status;
    ctx.metrics.cache.inc({ result: status });
  }
  return status ? { ...routed, cache: status } : routed;
}

function replayed<T>(
  ctx: HandlerContext,
  trace: Trace,
  kind: Kind<T>,
  shared: Shared,
  status: "hit" | "coalesced",
): Served<T> {
  const routed: Routed<T> = {
    model: String(shared.completion.model ?? ""),
    attempts: [],
    answer: kind.replay(shared),
  };
  return served(ctx, trace, routed, status);
}

function parsed(text: string): Shared | undefined {
  try {
    const completion = JSON.parse(text) as ChatCompletion;
    return storable(completion) ? { completion, text } : undefined;
  } catch {
    return undefined;
  }
}

function store(cache: CacheRuntime, key: string, text: string, now: number) {
  const work = cache.store.set(key, text, now, now + cache.ttlMs).catch((err) =>
    cache.warn(`Could not store an answer in the response cache: ${err}`)
  );
  cache.pending.add(work);
  work.finally(() => cache.pending.delete(work));
}

/**
 * The cache key: a SHA-256 of the client key's fingerprint (never the key),
 * whether the completion budget is a ceiling, and the canonical body.
 */
async function cacheKey(
  trace: Trace,
  chat: ChatCompletionRequest,
  context: RouteContext,
): Promise<string> {
  const presented = trace.request ? clientKey(trace.request) : undefined;
  const who = presented === undefined ? "-" : await accountIdOf(presented);
  const text = `${who}\n${context.clampMaxTokens ? 1 : 0}\n${
    canonicalRequest(chat)
  }`;
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", encoder.encode(text)),
  );
  let hex = "";
  for (const b of digest) hex += b.toString(16).padStart(2, "0");
  return hex;
}
