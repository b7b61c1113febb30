/**
 * The response cache's rules: which requests may be answered from it or
 * stored in it, the canonical form two equal requests share, how a streamed
 * answer is assembled into one completion as it passes, and how a stored
 * completion is replayed as a well-formed stream. Pure.
 *
 * @module
 */
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
} from "../types.ts";
import { ToolCallKeys } from "./tool_call_keys.ts";

/** Fields that do not change the answer: left out of the canonical body. */
const IGNORED = new Set(["stream", "stream_options", "user"]);

/** `value` as JSON with every object's keys sorted. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map((v) => canonicalJson(v ?? null)).join(",")}]`;
  }
  if (typeof value === "object" && value !== null) {
    const keys = Object.keys(value).sort();
    const parts: string[] = [];
    for (const k of keys) {
      const v = (value as Record<string, unknown>)[k];
      if (v === undefined || typeof v === "function") continue;
      parts.push(`${JSON.stringify(k)}:${canonicalJson(v)}`);
    }
    return `{${parts.join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** The canonical body: keys sorted, `stream`, `stream_options` and `user` left out. */
export function canonicalRequest(request: ChatCompletionRequest): string {
  const kept: Record<string, unknown> = {};
  for (const k in request) if (!IGNORED.has(k)) kept[k] = request[k];
  return canonicalJson(kept);
}

/**
 * Why a request is neither answered from the cache nor stored in it, or
 * `undefined`: `n` > 1, `Cache-Control: no-cache` or `no-store`, or
 * `X-FreeRouter-Cache: bypass`.
 */
export function cacheBypass(
  request: ChatCompletionRequest,
  cacheControl: string | null,
  freerouterCache: string | null,
): string | undefined {
  if (typeof request.n === "number" && request.n > 1) return "n > 1";
  if (cacheControl && /\bno-(cache|store)\b/i.test(cacheControl)) {
    return "Cache-Control";
  }
  if (freerouterCache?.trim().toLowerCase() === "bypass") {
    return "X-FreeRouter-Cache";
  }
  return undefined;
}

/** Whether a whole completion is a complete, successful answer worth storing. */
export function storable(completion: ChatCompletion | undefined): boolean {
  if (!completion || typeof completion !== "object") return false;
  if ("error" in completion && completion.error) return false;
  const choices = completion.choices;
  if (!Array.isArray(choices) || choices.length !== 1) return false;
  const finish = choices[0]?.finish_reason;
  return typeof finish === "string" && finish !== "" && finish !== "error" &&
    typeof choices[0]?.message === "object";
}

interface ToolCallParts {
  id?: string;
  type?: string;
  name: string;
  arguments: string;
}

/**
 * Builds one chat completion out of a stream's chunks as they pass: the
 * role, content, reasoning and tool calls of choice 0, its finish reason and
 * the usage. `failed` once an error event or a second choice shows up.
 */
export class ChunkAssembler {
  #id = "";
  #model = "";
  #created = 0;
  #content = "";
  #reasoning = "";
  /** The tool calls, by call (see {@link ToolCallKeys}), in the order they started. */
  #tools = new Map<number, ToolCallParts>();
  readonly #keys = new ToolCallKeys();
  #finish: string | null = null;
  #usage: Record<string, unknown> | undefined;
  #failed = false;

  /** Whether the stream carried an error or something the cache does not replay. */
  get failed(): boolean {
    return this.#failed;
  }

  /** Takes one event's `data` (`[DONE]` included). */
  push(data: string): void {
    if (this.#failed || data === "[DONE]") return;
    let chunk: ChatCompletionChunk & { error?: unknown };
    try {
      chunk = JSON.parse(data);
    } catch {
      this.#failed = true;
      return;
    }
    if (typeof chunk !== "object" || chunk === null || chunk.error) {
      this.#failed = true;
      return;
    }
    if (typeof chunk.id === "string" && this.#id === "") this.#id = chunk.id;
    if (typeof chunk.model === "string" && this.#model === "") {
      this.#model = chunk.model;
    }
    if (typeof chunk.created === "number" && this.#created === 0) {
      this.#created = chunk.created;
    }
    if (chunk.usage && typeof chunk.usage === "object") {
      this.#usage = chunk.usage;
    }
    for (const choice of Array.isArray(chunk.choices) ? chunk.choices : []) {
      if ((choice?.index ?? 0) !== 0) {
        this.#failed = true;
        return;
      }
      const delta = choice.delta ?? {};
      if (typeof delta.content === "string") this.#content += delta.content;
      if (typeof delta.reasoning === "string") {
        this.#reasoning += delta.reasoning;
      }
      if (Array.isArray(delta.tool_calls)) this.#toolDeltas(delta.tool_calls);
      if (typeof choice.finish_reason === "string") {
        this.#finish = choice.finish_reason;
      }
    }
  }

  #toolDeltas(deltas: unknown[]): void {
    for (const d of deltas as Array<Record<string, unknown>>) {
      const key = this.#keys.ofDelta(d);
      const parts = this.#tools.get(key) ?? { name: "", arguments: "" };
      if (typeof d.id === "string") parts.id = d.id;
      if (typeof d.type === "string") parts.type = d.type;
      const fn = d.function as Record<string, unknown> | undefined;
      if (typeof fn?.name === "string") parts.name += fn.name;
      if (typeof fn?.arguments === "string") parts.arguments += fn.arguments;
      this.#tools.set(key, parts);
    }
  }

  /** The whole answer, or `undefined` when the stream was not a complete success. */
  completion(): ChatCompletion | undefined {
    if (this.#failed || this.#finish === null || this.#finish === "error") {
      return undefined;
    }
    const message: ChatCompletion["choices"][number]["message"] = {
      role: "assistant",
      content: this.#content,
    };
    if (this.#reasoning !== "") message.reasoning = this.#reasoning;
    if (this.#tools.size > 0) {
      // In the order the calls started (a key is not an index: see ToolCallKeys).
      message.tool_calls = [...this.#tools.values()].map((t) => ({
        id: t.id ?? "",
        type: t.type ?? "function",
        function: { name: t.name, arguments: t.arguments },
      }));
    }
    const completion: ChatCompletion = {
      id: this.#id,
      object: "chat.completion",
      created: this.#created,
      model: this.#model,
      choices: [{ index: 0, message, finish_reason: this.#finish }],
    };
    if (this.#usage) completion.usage = this.#usage;
    return completion;
  }
}

/**
 * A stored completion as the data of a stream's events: the role, the
 * reasoning and content, the tool calls, the finish reason, the usage, and
 * `[DONE]`.
 */
export function replayEvents(completion: ChatCompletion): string[] {
  const head = {
    id: completion.id,
    object: "chat.completion.chunk",
    created: completion.created,
    model: completion.model,
  };
  const choice = completion.choices[0];
  const message = choice?.message ?? { role: "assistant", content: "" };
  const event = (delta: Record<string, unknown>, finish: string | null) =>
    JSON.stringify({
      ...head,
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
  const events = [event({ role: "assistant", content: "" }, null)];
  if (typeof message.reasoning === "string" && message.reasoning !== "") {
    events.push(event({ reasoning: message.reasoning }, null));
  }
  if (typeof message.content === "string" && message.content !== "") {
    events.push(event({ content: message.content }, null));
  }
  if (Array.isArray(message.tool_calls) && message.tool_calls.length > 0) {
    events.push(event({
      tool_calls: (message.tool_calls as Array<Record<string, unknown>>).map((
        call,
        index,
      ) => ({ index, ...call })),
    }, null));
  }
  events.push(event({}, choice?.finish_reason ?? "stop"));
  if (completion.usage) {
    events.push(
      JSON.stringify({ ...head, choices: [], usage: completion.usage }),
    );
  }
  events.push("[DONE]");
  return events;
}
