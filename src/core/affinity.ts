/**
 * Conversation affinity: consecutive requests of one conversation go to the
 * model that answered its previous turn, while that model is available, so
 * that quality does not change between turns and prompt caches stay warm.
 * A bounded LRU (by count and idle time) over plain data, with the clock
 * passed in. Pure.
 *
 * @module
 */
import type { ChatCompletionRequest, FreeModel } from "../types.ts";

/** Conversations remembered at most. */
export const AFFINITY_MAX = 10_000;
/** A conversation idle this long is forgotten, ms. */
export const AFFINITY_IDLE_MS = 30 * 60_000;

/** Which model answered which conversation, most recent last. */
export class Affinity {
  readonly #entries = new Map<string, { model: string; at: number }>();

  constructor(
    readonly max: number = AFFINITY_MAX,
    readonly idleMs: number = AFFINITY_IDLE_MS,
  ) {}

  /** The model that answered the conversation's last turn, if remembered and not idle too long. */
  get(key: string, now: number): string | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (now - entry.at > this.idleMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.model;
  }

  /** Remembers the model that answered; the oldest conversation goes when full. */
  set(key: string, model: string, now: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { model, at: now });
    if (this.#entries.size > this.max) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
  }

  /** Conversations remembered. */
  get size(): number {
    return this.#entries.size;
  }
}

/** FNV-1a's 32-bit prime. */
const FNV_PRIME = 0x01000193;

/** FNV-1a over a string's UTF-16 code units, continuing from `hash` (int32 arithmetic). */
function fnv1a(text: string, hash: number): number {
  for (let i = 0; i < text.length; i++) {
    hash = Math.imul(hash ^ text.charCodeAt(i), FNV_PRIME);
  }
  return hash;
}

/** Content as text for the hash; cache breakpoints, which move between turns, left out. */
function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  return JSON.stringify(
    content ?? "",
    (key, value) => key === "cache_control" ? undefined : value,
  );
}

/**
 * The name a client gives a request's conversation in its body
 * (`prompt_cache_key`, on chat completions and Responses), when it is text.
 */
export function conversationLabel(body: object): string | undefined {
  const label = (body as { prompt_cache_key?: unknown }).prompt_cache_key;
  return typeof label === "string" && label !== "" ? label : undefined;
}

/**
 * A conversation's key: the client's session id when it sends one
 * (`X-FreeRouter-Session`), else a hash of the system prompt and the first
 * user message, which stay the same across the turns of one conversation,
 * and of `label`, the name the client gives the conversation in its body when
 * it gives one (`prompt_cache_key`; Codex sends its thread id there, and its
 * first user message describes the working directory, not the task; Claude
 * Code's `metadata.user_id` holds its session id), so that conversations the
 * client tells apart stay apart; under an alias other than `auto`, the alias
 * too, so that a conversation that switches to `auto:long` gets that alias's
 * model, not its last one.
 */
export function conversationKey(
  request: ChatCompletionRequest,
  session: string | null | undefined,
  alias = "auto",
  label?: string,
): string | undefined {
  const key = hashKey(request, session, label);
  return key === undefined || alias === "auto" ? key : `${key}@${alias}`;
}

function hashKey(
  request: ChatCompletionRequest,
  session: string | null | undefined,
  label: string | undefined,
): string | undefined {
  if (session) return `s:${session}`;
  let system = "";
  let user: string | undefined;
  for (const message of request.messages) {
    if (message.role === "system" || message.role === "developer") {
      system += textOf(message.content);
    } else if (message.role === "user") {
      user = textOf(message.content);
      break;
    }
  }
  if (user === undefined) return undefined;
  // Two FNV-1a hashes, of system + user and (from another seed) of user +
  // system: 64 bits, each string read twice at most (a Claude Code system
  // prompt is tens of kB). The label only adds to them: a constant one (a
  // client that names its application there) leaves conversations as the
  // messages tell them apart.
  const seedA = label ? fnv1a("\u0000", fnv1a(label, 0x811c9dc5)) : 0x811c9dc5;
  const seedB = label ? fnv1a("\u0000", fnv1a(label, 0x12345678)) : 0x12345678;
  const a = fnv1a(user, fnv1a(system, seedA));
  const b = fnv1a(system, fnv1a(user, seedB));
  return `h:${(a >>> 0).toString(16)}${(b >>> 0).toString(16)}`;
}

/**
 * Moves a conversation's previous model to the front of the candidates when
 * it is among them (it fits the request) and is not cooling down.
 */
export function stickTo(
  candidates: FreeModel[],
  model: string | undefined,
  cooldowns: ReadonlyMap<string, { until: number }>,
  now: number,
): void {
  if (model === undefined || candidates[0]?.id === model) return;
  const at = candidates.findIndex((m) => m.id === model);
  if (at <= 0) return;
  const cooling = cooldowns.get(model);
  if (cooling !== undefined && cooling.until > now) return;
  candidates.unshift(...candidates.splice(at, 1));
}
