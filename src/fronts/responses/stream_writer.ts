/**
 * What the Responses stream's item trackers share: event numbering and
 * framing, the output list, and ids. The per-delta events are framed from a
 * template made once per item (see `../delta_frame.ts`).
 *
 * @module
 */
import type {
  Response,
  ResponseFunctionCallArgumentsDeltaEvent,
  ResponseOutputItem,
  ResponseReasoningSummaryTextDeltaEvent,
  ResponseStreamEvent,
  ResponseTextDeltaEvent,
} from "openai/resources/responses/responses";
import { HOLE, splitAtHole } from "../delta_frame.ts";
import type { NewId } from "./response.ts";

/** A stream event without its `sequence_number`, which `emit` adds. */
export type Unsequenced<E = ResponseStreamEvent> = E extends unknown
  ? Omit<E, "sequence_number">
  : never;

/** The events sent once per delta, framed by {@link EventWriter.deltas}. */
export type DeltaEvent =
  | ResponseTextDeltaEvent
  | ResponseReasoningSummaryTextDeltaEvent
  | ResponseFunctionCallArgumentsDeltaEvent;

/** One item's delta events: the frame for a delta, numbered next. */
export type DeltaFrames = (delta: string) => string;

/** `type` and `sequence_number` first, as OpenAI orders them. */
function serialise(event: Unsequenced, seq: number): string {
  const { type } = event;
  const numbered = { type, sequence_number: seq };
  return `event: ${type}\ndata: ${
    JSON.stringify(Object.assign(numbered, event))
  }\n\n`;
}

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
    return serialise(event, this.#seq++);
  }

  /**
   * The frames of `event` with each delta in turn (its own `delta` is not
   * used): byte for byte what {@link emit} gives for the event with that
   * delta, without serialising the event each time.
   */
  deltas(event: Unsequenced<DeltaEvent>): DeltaFrames {
    const { type } = event;
    const [head, tail] = splitAtHole(serialise({ ...event, delta: HOLE }, 0));
    const lead = `event: ${type}\ndata: {"type":"${type}","sequence_number":`;
    if (!head.startsWith(`${lead}0,`)) {
      throw new TypeError(`unexpected ${type} template`);
    }
    const mid = head.slice(lead.length + 1);
    return (delta) => lead + this.#seq++ + mid + JSON.stringify(delta) + tail;
  }

  /**
   * `response.created` and `response.in_progress`, both carrying `response`,
   * serialised once: byte for byte what {@link emit} gives for each.
   */
  opening(response: Response): string {
    const json = JSON.stringify(response);
    let sse = "";
    for (const type of ["response.created", "response.in_progress"]) {
      const seq = this.#seq++;
      sse += `event: ${type}\ndata: {"type":"${type}",` +
        `"sequence_number":${seq},"response":${json}}\n\n`;
    }
    return sse;
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
