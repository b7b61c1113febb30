/**
 * The text items of a Responses stream: the assistant `message` (one
 * `output_text` part) and the `reasoning` item (one summary part). Each is
 * open from its first delta until `close()`; one {@link TextTrack} each,
 * told apart by its {@link TextKind}.
 *
 * @module
 */
import type {
  ResponseOutputItem,
  ResponseOutputMessage,
  ResponseReasoningItem,
} from "openai/resources/responses/responses";
import { messageItem, reasoningItem } from "./response.ts";
import type {
  DeltaEvent,
  DeltaFrames,
  EventWriter,
  Unsequenced,
} from "./stream_writer.ts";

/** The events and items of one kind of text item, at `id` and output `index`. */
export interface TextKind {
  /** The item id's prefix. */
  prefix: string;
  /** The item as added: in progress, without text. */
  added(id: string): ResponseOutputItem;
  /** The part's `….added` event, sent after the item's. */
  opened(id: string, index: number): Unsequenced;
  /** The delta event (its `delta` is not used). */
  delta(id: string, index: number): Unsequenced<DeltaEvent>;
  /** The text's and the part's `….done` events. */
  closed(id: string, index: number, text: string): Unsequenced[];
  /** The whole item. */
  item(id: string, text: string): ResponseOutputMessage | ResponseReasoningItem;
}

/** The assistant message: `output_text` events. */
export const MESSAGE: TextKind = {
  prefix: "msg",
  added: (id) => ({
    id,
    type: "message",
    role: "assistant",
    status: "in_progress",
    content: [],
  }),
  opened: (id, index) => ({
    type: "response.content_part.added",
    item_id: id,
    output_index: index,
    content_index: 0,
    part: { type: "output_text", text: "", annotations: [], logprobs: [] },
  }),
  delta: (id, index) => ({
    type: "response.output_text.delta",
    item_id: id,
    output_index: index,
    content_index: 0,
    delta: "",
    logprobs: [],
  }),
  closed: (id, index, text) => [{
    type: "response.output_text.done",
    item_id: id,
    output_index: index,
    content_index: 0,
    text,
    logprobs: [],
  }, {
    type: "response.content_part.done",
    item_id: id,
    output_index: index,
    content_index: 0,
    part: { type: "output_text", text, annotations: [], logprobs: [] },
  }],
  item: messageItem,
};

/** The reasoning item: `reasoning_summary_text` events. */
export const REASONING: TextKind = {
  prefix: "rs",
  added: (id) => ({ id, type: "reasoning", summary: [] }),
  opened: (id, index) => ({
    type: "response.reasoning_summary_part.added",
    item_id: id,
    output_index: index,
    summary_index: 0,
    part: { type: "summary_text", text: "" },
  }),
  delta: (id, index) => ({
    type: "response.reasoning_summary_text.delta",
    item_id: id,
    output_index: index,
    summary_index: 0,
    delta: "",
  }),
  closed: (id, index, text) => [{
    type: "response.reasoning_summary_text.done",
    item_id: id,
    output_index: index,
    summary_index: 0,
    text,
  }, {
    type: "response.reasoning_summary_part.done",
    item_id: id,
    output_index: index,
    summary_index: 0,
    part: { type: "summary_text", text },
  }],
  item: reasoningItem,
};

interface Open {
  id: string;
  index: number;
  text: string;
  frames: DeltaFrames;
}

/** One text item of a {@link TextKind}, open from its first delta to `close()`. */
export class TextTrack {
  readonly #out: EventWriter;
  readonly #kind: TextKind;
  #open: Open | undefined;

  constructor(out: EventWriter, kind: TextKind) {
    this.#out = out;
    this.#kind = kind;
  }

  /** Adds `delta`, opening the item and its part first if needed. */
  delta(delta: string): string {
    let sse = "";
    let open = this.#open;
    if (!open) {
      const out = this.#out;
      const kind = this.#kind;
      const id = out.newId(kind.prefix);
      const added = out.add(kind.added(id));
      const index = added.index;
      open = this.#open = {
        id,
        index,
        text: "",
        frames: out.deltas(kind.delta(id, index)),
      };
      sse = added.sse + out.emit(kind.opened(id, index));
    }
    open.text += delta;
    return sse + open.frames(delta);
  }

  /**
   * Ends the text, the part and the item, if open; `cut` (the length limit
   * ended the response inside this item) marks the item `incomplete`.
   */
  close(cut = false): string {
    const open = this.#open;
    if (!open) return "";
    this.#open = undefined;
    const { id, index, text } = open;
    let sse = "";
    for (const event of this.#kind.closed(id, index, text)) {
      sse += this.#out.emit(event);
    }
    const item = this.#kind.item(id, text);
    return sse +
      this.#out.done(index, cut ? { ...item, status: "incomplete" } : item);
  }

  /** The unfinished item, `incomplete`, for a failed response. */
  partial(output: ResponseOutputItem[]): void {
    const open = this.#open;
    if (!open) return;
    output[open.index] = {
      ...this.#kind.item(open.id, open.text),
      status: "incomplete",
    };
  }
}
