/**
 * Non-streaming answers too large to hold: judged by their first MiB, then
 * passed through while their JSON nesting is followed, so one cut off midway
 * errors instead of looking complete.
 *
 * @module
 */
import type { AttemptScope } from "./scope.ts";

/**
 * The keys of the outermost JSON object in a (possibly truncated) JSON text,
 * as far as the text goes.
 */
export function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(text.slice(i + 1, j));
      expectKey = false;
      i = j;
    } else if (c === "{" || c === "[") {
      depth++;
      expectKey = depth === 1 && c === "{";
    } else if (c === "}" || c === "]") depth--;
    else if (c === "," && depth === 1) expectKey = true;
  }
  return keys;
}

/**
 * Follows the nesting of a JSON text fed in pieces, to tell a whole document
 * from one cut off midway (strings and escapes are skipped).
 */
export class JsonBalance {
  #depth = 0;
  #opened = false;
  #inString = false;
  #escape = false;

  /** Feeds the next bytes. */
  feed(bytes: Uint8Array): void {
    let depth = this.#depth;
    let inString = this.#inString;
    let escape = this.#escape;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (inString) {
        if (escape) escape = false;
        else if (b === 92) escape = true; // backslash
        else if (b === 34) inString = false; // quote
      } else if (b === 34) inString = true;
      else if (b === 123 || b === 91) {
        depth++;
        this.#opened = true;
      } else if (b === 125 || b === 93) depth--;
    }
    this.#depth = depth;
    this.#inString = inString;
    this.#escape = escape;
  }

  /** Whether what was fed is one whole JSON object or array. */
  get complete(): boolean {
    return this.#opened && this.#depth === 0 && !this.#inString;
  }
}

/**
 * A body that starts with bytes already read and continues with the rest,
 * each read bounded by `idleMs`. A body that ends before its JSON is complete
 * errors instead of ending, so no client takes it for a whole answer.
 */
export function passThrough(
  head: Uint8Array,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  scope: AttemptScope,
  idleMs: number,
): ReadableStream<Uint8Array> {
  const balance = new JsonBalance();
  balance.feed(head);
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    scope.dispose();
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(head);
    },
    async pull(controller) {
      scope.deadline.arm(idleMs);
      try {
        const { done, value } = await scope.read(reader);
        if (done) {
          finish();
          if (balance.complete) controller.close();
          else {controller.error(
              new Error(
                "The upstream answer ended before its JSON was complete",
              ),
            );}
        } else {
          balance.feed(value);
          controller.enqueue(value);
        }
      } catch (err) {
        finish();
        controller.error(err);
      } finally {
        scope.deadline.clear();
      }
    },
    cancel() {
      scope.controller.abort(
        new DOMException("client went away", "AbortError"),
      );
      finish();
      return reader.cancel().catch(() => {});
    },
  });
}
