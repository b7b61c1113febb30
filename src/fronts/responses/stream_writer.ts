/**
 * What the Responses stream's item trackers share: event numbering and
 * framing, the output list, and ids.
 *
 * @module
 */
import type {
  ResponseOutputItem,
  ResponseStreamEvent,
} from "openai/resources/responses/responses";
import type { NewId } from "./response.ts";

/** A stream event without its `sequence_number`, which `emit` adds. */
export type Unsequenced<E = ResponseStreamEvent> = E extends unknown
  ? Omit<E, "sequence_number">
  : never;

/** Numbers and frames events; holds the output items by output index. */
export class EventWriter {
  #seq = 0;
  /** Output items by output index: a snapshot when added, whole when done. */
  readonly output: ResponseOutputItem[] = [];
  /** Item ids. */
  readonly newId: NewId;

  constructor(newId: NewId) {
    this.newId = newId;
  }

  /** One event, `event: <type>\ndata: <json>\n\n`, numbered next. */
  emit(event: Unsequenced): string {
    const { type } = event;
    // `type` and `sequence_number` first, as OpenAI orders them.
    const numbered = { type, sequence_number: this.#seq++ };
    const data = JSON.stringify(Object.assign(numbered, event));
    return `event: ${type}\ndata: ${data}\n\n`;
  }

  /** Appends an item: `response.output_item.added`, and its output index. */
  add(item: ResponseOutputItem): { index: number; sse: string } {
    const index = this.output.length;
    this.output.push(item);
    const sse = this.emit({
      type: "response.output_item.added",
      output_index: index,
      item,
    });
    return { index, sse };
  }

  /** Stores the finished item: `response.output_item.done`. */
  done(index: number, item: ResponseOutputItem): string {
    this.output[index] = item;
    return this.emit({
      type: "response.output_item.done",
      output_index: index,
      item,
    });
  }
}
