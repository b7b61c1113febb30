/**
 * A committed stream's parsed events, handed on with their bytes. The stream
 * guard parses every data event it forwards (it must, to catch errors and
 * the finish); when the route asks for it (`RouteContext.parsedEvents`: the
 * agent fronts do, chat completions do not), for each chunk of whole events
 * it enqueues it records here the chunk's data events, parsed, in order
 * (`[DONE]` as {@link DONE}).
 * A reader that receives the very same bytes at an event boundary may take
 * them instead of splitting and parsing the bytes again, as the agent fronts'
 * translation does; bytes without a record (a replayed answer, a comment, an
 * error event, a copy) are read as bytes. Comments are left out of a record.
 *
 * A record lives as long as its bytes (a `WeakMap`); its values are shared
 * with the guard and with every reader of the same bytes, so nobody may
 * change them.
 *
 * @module
 */
import type { ChatCompletionChunk } from "../types.ts";

/** `data: [DONE]` in a record. */
export const DONE = "[DONE]";

/** One data event of a record: its parsed chunk, or {@link DONE}. */
export type ParsedEvent = ChatCompletionChunk | typeof DONE;

const records = new WeakMap<Uint8Array, readonly ParsedEvent[]>();

/** Records `events` as the parsed data events of `bytes` (whole events); returns `bytes`. */
export function withParsedEvents(
  bytes: Uint8Array,
  events: readonly ParsedEvent[],
): Uint8Array {
  records.set(bytes, events);
  return bytes;
}

/** The parsed data events of `bytes`, when they were recorded. */
export function parsedEvents(
  bytes: Uint8Array,
): readonly ParsedEvent[] | undefined {
  return records.get(bytes);
}
