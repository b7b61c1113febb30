/**
 * Tells apart the tool calls of one streamed answer. Chat completion chunks
 * name a call by its `index`, but some providers number every call 0 and
 * tell them apart only by `id`: a new id under an index already used is a
 * new call. Pure.
 *
 * @example Two calls that share index 0
 * ```ts
 * import { ToolCallKeys } from "./tool_call_keys.ts";
 * const keys = new ToolCallKeys();
 * const a = keys.of(0, "call_a");
 * if (keys.of(0, undefined) !== a) throw new Error("the same call");
 * const b = keys.of(0, "call_b");
 * if (b === a || keys.of(0, undefined) !== b) throw new Error("a new call");
 * ```
 *
 * @module
 */

/** The keys of one answer's tool calls: one per call, in the order they started. */
export class ToolCallKeys {
  /** The id first seen under each key. */
  readonly #idOf = new Map<number, string>();
  /** The key an upstream index stands for now. */
  readonly #keyOf = new Map<number, number>();
  #next = -1;

  /** A key that no upstream index has (for a delta without one). */
  fresh(): number {
    return this.#next--;
  }

  /** The key of a delta with the upstream `index` and, when it has one, an `id`. */
  of(index: number, id: string | undefined): number {
    let key = this.#keyOf.get(index) ?? index;
    const known = this.#idOf.get(key);
    if (id !== undefined && known !== undefined && id !== known) {
      key = this.fresh();
      this.#keyOf.set(index, key);
    }
    if (id !== undefined && !this.#idOf.has(key)) this.#idOf.set(key, id);
    return key;
  }

  /** The key of a chat completion's tool call delta (no `index`: 0). */
  ofDelta(delta: { index?: unknown; id?: unknown } | undefined): number {
    return this.of(
      typeof delta?.index === "number" ? delta.index : 0,
      callIdOf(delta?.id),
    );
  }
}

/** A delta's call id: a non-empty string, else `undefined`. */
export function callIdOf(id: unknown): string | undefined {
  return typeof id === "string" && id !== "" ? id : undefined;
}
