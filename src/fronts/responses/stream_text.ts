/**
 * The text items of a Responses stream: the assistant `message` (one
 * `output_text` part) and the `reasoning` item (one summary part). Each is
 * open from its first delta until `close()`.
 *
 * @module
 */
import type { ResponseOutputItem } from "openai/resources/responses/responses";
import { messageItem, reasoningItem } from "./response.ts";
import type { EventWriter } from "./stream_writer.ts";

interface Open {
  id: string;
  index: number;
  text: string;
}

/** The assistant message: `output_text` events. */
export class MessageTrack {
  readonly #out: EventWriter;
  #open: Open | undefined;

  constructor(out: EventWriter) {
    this.#out = out;
  }

  /** Adds `delta`, opening the item and its part first if needed. */
  delta(delta: string): string {
    let sse = "";
    let open = this.#open;
    if (!open) {
      const id = this.#out.newId("msg");
      const added = this.#out.add({
        id,
        type: "message",
        role: "assistant",
        status: "in_progress",
        content: [],
      });
      open = this.#open = { id, index: added.index, text: "" };
      sse = added.sse + this.#out.emit({
        type: "response.content_part.added",
        item_id: id,
        output_index: open.index,
        content_index: 0,
        part: { type: "output_text", text: "", annotations: [], logprobs: [] },
      });
    }
    open.text += delta;
    return sse + this.#out.emit({
      type: "response.output_text.delta",
      item_id: open.id,
      output_index: open.index,
      content_index: 0,
      delta,
      logprobs: [],
    });
  }

  /** Ends the text, the part and the item, if open. */
  close(): string {
    const open = this.#open;
    if (!open) return "";
    this.#open = undefined;
    const { id, index, text } = open;
    const at = { item_id: id, output_index: index, content_index: 0 };
    return this.#out.emit({
      type: "response.output_text.done",
      ...at,
      text,
      logprobs: [],
    }) + this.#out.emit({
      type: "response.content_part.done",
      ...at,
      part: { type: "output_text", text, annotations: [], logprobs: [] },
    }) + this.#out.done(index, messageItem(id, text));
  }

  /** The unfinished item, `incomplete`, for a failed response. */
  partial(output: ResponseOutputItem[]): void {
    const open = this.#open;
    if (!open) return;
    output[open.index] = {
      ...messageItem(open.id, open.text),
      status: "incomplete",
    };
  }
}

/** The reasoning item: `reasoning_summary_text` events. */
export class ReasoningTrack {
  readonly #out: EventWriter;
  #open: Open | undefined;

  constructor(out: EventWriter) {
    this.#out = out;
  }

  /** Adds `delta`, opening the item and its summary part first if needed. */
  delta(delta: string): string {
    let sse = "";
    let open = this.#open;
    if (!open) {
      const id = this.#out.newId("rs");
      const added = this.#out.add({ id, type: "reasoning", summary: [] });
      open = this.#open = { id, index: added.index, text: "" };
      sse = added.sse + this.#out.emit({
        type: "response.reasoning_summary_part.added",
        item_id: id,
        output_index: open.index,
        summary_index: 0,
        part: { type: "summary_text", text: "" },
      });
    }
    open.text += delta;
    return sse + this.#out.emit({
      type: "response.reasoning_summary_text.delta",
      item_id: open.id,
      output_index: open.index,
      summary_index: 0,
      delta,
    });
  }

  /** Ends the summary text, its part and the item, if open. */
  close(): string {
    const open = this.#open;
    if (!open) return "";
    this.#open = undefined;
    const { id, index, text } = open;
    const at = { item_id: id, output_index: index, summary_index: 0 };
    return this.#out.emit({
      type: "response.reasoning_summary_text.done",
      ...at,
      text,
    }) + this.#out.emit({
      type: "response.reasoning_summary_part.done",
      ...at,
      part: { type: "summary_text", text },
    }) + this.#out.done(index, reasoningItem(id, text));
  }

  /** The unfinished item, `incomplete`, for a failed response. */
  partial(output: ResponseOutputItem[]): void {
    const open = this.#open;
    if (!open) return;
    output[open.index] = {
      ...reasoningItem(open.id, open.text),
      status: "incomplete",
    };
  }
}
