/**
 * The shapes the attempt loop takes and gives: a routed answer, the
 * per-request context, and how one run of the loop shares its request's
 * state (a continuation's).
 *
 * @module
 */
import type { Attempt } from "./errors.ts";
import type { ClientSignal } from "./upstream/scope.ts";
import type { StreamBreak, StreamCut } from "./upstream/stream_track.ts";

/** A routed answer: what answered, after which attempts. */
export interface Routed<T> {
  /** The model that answered. */
  model: string;
  /** Every attempt, the last one being the success. */
  attempts: Attempt[];
  /** The answer. */
  answer: T;
}

/** Per-request context. */
export interface RouteContext {
  /** The OpenRouter key for this request. */
  apiKey: string;
  /**
   * Aborted when the caller goes away; a function returning it where reading
   * it has a cost, called only when it matters (see {@link ClientSignal}).
   */
  signal?: ClientSignal;
  /**
   * The request's completion budget is a ceiling, not a need: models whose
   * completion cap or context is smaller still serve it, each attempt asking
   * for what its model allows (the agent fronts: Claude Code asks for
   * 32k–128k tokens). Otherwise such models are left out, as OpenAI clients
   * expect.
   */
  clampMaxTokens?: boolean;
  /** The client's conversation id (`X-FreeRouter-Session`), for affinity. */
  session?: string | null;
  /**
   * The name the client gives the conversation (a Responses request's
   * `prompt_cache_key`, a Messages request's `metadata.user_id`), mixed into
   * the conversation's key for affinity; else the chat request's own
   * `prompt_cache_key` is.
   */
  conversationLabel?: string;
  /**
   * The only models that may answer, as ids and `*` patterns (a client key's
   * `models` list, when the client named a model); `undefined` for any.
   */
  models?: readonly string[];
  /** The request's id in the proxy's log lines, when it has one. */
  requestId?: string;
  /** Told when a broken stream was resumed, or could not be. */
  onResume?: (outcome: "resumed" | "failed") => void;
  /** Told once when a committed stream ends short of its answer (broken for good, or the client stopped reading). */
  onStreamCut?: (cut: StreamCut) => void;
  /**
   * A committed stream's bytes carry the events the stream guard parsed
   * (upstream/parsed_events.ts), for a front that translates them.
   */
  parsedEvents?: boolean;
}

/** How one run of the attempt loop shares its request's state. */
export interface RouteRun {
  /** The request's attempts so far (a continuation adds to its stream's). */
  attempts?: Attempt[];
  /** The break this run continues (a resumption). */
  continues?: StreamBreak;
  /** Models not to try (their stream broke in this request). */
  skip?: ReadonlySet<string>;
  /** Told once the answering model's success is in its health. */
  onCommitted?: (model: string) => void;
}
