/**
 * Server-sent-event framing at the byte level. freerouter forwards upstream
 * bytes unchanged, but only whole events, so it needs each event's byte range:
 * {@link SseSplitter} finds them, {@link sseData} reads an event's `data`.
 *
 * Line ends may be LF, CRLF or CR; an event ends at a blank line (the SSE spec).
 *
 * @module
 */

const LF = 10;
const CR = 13;
const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

/**
 * Splits a byte stream into complete SSE events, each a view of the input.
 * A partial event is kept in a buffer that grows by doubling, so an event
 * arriving in many small chunks costs linear, not quadratic, copying.
 */
export class SseSplitter {
  #buf: Uint8Array = EMPTY;
  /** Bytes of `#buf` in use. */
  #len = 0;
  /** Whether `#buf` is a chunk we were given (never written into). */
  #borrowed = true;
  #scan = 0;
  #lineStart = 0;
  #eventStart = 0;

  /** Bytes received but not yet part of a complete event. */
  get pendingBytes(): number {
    return this.#len - this.#eventStart;
  }

  /** Appends a chunk. Views returned earlier stay valid. */
  push(chunk: Uint8Array): void {
    if (this.#eventStart === this.#len) {
      this.#buf = chunk;
      this.#len = chunk.length;
      this.#borrowed = true;
      this.#scan = this.#lineStart = this.#eventStart = 0;
      return;
    }
    const pending = this.#len - this.#eventStart;
    const needed = pending + chunk.length;
    if (this.#borrowed || this.#eventStart > 0 || this.#buf.length < needed) {
      // Copy the partial event into a fresh buffer (earlier views keep the old one).
      this.#moveTo(new Uint8Array(Math.max(needed, 2 * pending, 4096)));
      this.#borrowed = false;
    }
    this.#buf.set(chunk, pending);
    this.#len = needed;
  }

  /**
   * Stops referring to the last chunk pushed: a partial event still in it is
   * copied into a buffer of the splitter's own, so the chunk's memory may be
   * reused (views returned earlier do not survive that).
   */
  detach(): void {
    if (!this.#borrowed) return;
    const pending = this.#len - this.#eventStart;
    this.#moveTo(
      pending === 0 ? EMPTY : new Uint8Array(Math.max(2 * pending, 4096)),
    );
    this.#borrowed = pending === 0;
  }

  /** Moves the partial event to the start of `next`, which becomes the buffer. */
  #moveTo(next: Uint8Array): void {
    const pending = this.#len - this.#eventStart;
    next.set(this.#buf.subarray(this.#eventStart, this.#len));
    this.#scan -= this.#eventStart;
    this.#lineStart -= this.#eventStart;
    this.#eventStart = 0;
    this.#buf = next;
    this.#len = pending;
  }

  /** The next complete event (its lines and the blank line ending it), or `undefined`. */
  next(): Uint8Array | undefined {
    const buf = this.#buf;
    const len = this.#len;
    let i = this.#scan;
    while (i < len) {
      const b = buf[i];
      if (b !== LF && b !== CR) {
        i++;
        continue;
      }
      let end = i + 1;
      if (b === CR) {
        if (end >= len) break; // a CRLF may be split across chunks
        if (buf[end] === LF) end++;
      }
      const blank = i === this.#lineStart;
      this.#lineStart = end;
      i = end;
      if (blank) {
        const start = this.#eventStart;
        this.#eventStart = this.#scan = end;
        return buf.subarray(start, end);
      }
    }
    this.#scan = i;
    return undefined;
  }
}

/**
 * The `data` of one event (its `data:` lines joined by `\n`), or `undefined`
 * when it has none (a comment such as `: OPENROUTER PROCESSING`).
 */
export function sseData(event: Uint8Array): string | undefined {
  const text = decoder.decode(event);
  let data: string | undefined;
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (!line.startsWith("data")) continue;
    let value: string;
    if (line.length === 4) value = "";
    else if (line[4] === ":") {
      value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
    } else continue; // another field whose name starts with "data"
    data = data === undefined ? value : `${data}\n${value}`;
  }
  return data;
}

/** Concatenates byte chunks into a new array (never a view of one of them). */
export function copyBytes(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!.slice();
  return concatBytes(chunks);
}

/** Concatenates byte chunks (a single chunk is returned as it is). */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  let length = 0;
  for (const c of chunks) length += c.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

const encoder = new TextEncoder();

/** One framed SSE event carrying `{"error": …}` in the OpenAI shape. */
export function sseErrorEvent(
  message: string,
  code: string | number | null,
  type = "upstream_error",
): Uint8Array {
  const body = { error: { message, type, param: null, code } };
  return encoder.encode(`data: ${JSON.stringify(body)}\n\n`);
}
