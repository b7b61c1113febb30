/**
 * The framing of the Anthropic Messages stream's events,
 * `event: <type>\ndata: <json>\n\n`; the per-delta ones from a template
 * made once per block (see `../delta_frame.ts`).
 *
 * @module
 */
import type {
  RawContentBlockDelta,
  RawMessageStreamEvent,
} from "@anthropic-ai/sdk/resources/messages";
import { HOLE, splitAtHole } from "../delta_frame.ts";

interface ErrorEvent {
  type: "error";
  error: { type: "overloaded_error" | "api_error"; message: string };
}

/** One event, `event: <type>\ndata: <json>\n\n`. */
export function frame(event: RawMessageStreamEvent | ErrorEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** The keep-alive event. */
export const PING = 'event: ping\ndata: {"type":"ping"}\n\n';

type DeltaKind = Extract<
  RawContentBlockDelta["type"],
  "text_delta" | "thinking_delta" | "input_json_delta"
>;

/**
 * The `content_block_delta` frame of block `index` for one delta of `kind`,
 * split around the delta text (see `../delta_frame.ts`).
 */
export function blockDeltaFrame(
  index: number,
  kind: DeltaKind,
): [head: string, tail: string] {
  const delta: RawContentBlockDelta = kind === "text_delta"
    ? { type: kind, text: HOLE }
    : kind === "thinking_delta"
    ? { type: kind, thinking: HOLE }
    : { type: kind, partial_json: HOLE };
  return splitAtHole(frame({ type: "content_block_delta", index, delta }));
}
