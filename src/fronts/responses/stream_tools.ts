/**
 * The tool-call items of a Responses stream, fed by chat `tool_calls`
 * deltas. Several calls may be open at once; each delta goes to its own item
 * (by the chat tool-call `index`), and a new id on a used index starts a new
 * call (some providers number every call 0). An item is added once its name
 * is known; arguments seen before go in one delta then.
 *
 * Function calls stream `response.function_call_arguments.delta` as the
 * arguments come, and the deltas add up to the arguments of
 * `response.function_call_arguments.done`: blank arguments are held back
 * (whitespace before the first other character goes out with it), and a
 * call that ends without any (so with `{}`, see `finishedArguments`) gets
 * one delta of `{}`. Every other piece goes out as it came, so the work per
 * delta does not grow with the arguments so far (a 400 KB `write_file` call
 * comes in some 20,000 deltas). Custom tool calls cannot stream: the
 * upstream streams JSON arguments `{"input": …}`, so the input is sent when
 * the call ends, as one `response.custom_tool_call_input.delta` (when not
 * empty) and `response.custom_tool_call_input.done`.
 *
 * @module
 */
import type { ResponseOutputItem } from "openai/resources/responses/responses";
import {
  customInput,
  cutShort,
  finishedArguments,
  toolCallItem,
} from "./response.ts";
import type { DeltaFrames, EventWriter } from "./stream_writer.ts";
import type { ToolNames } from "./tools.ts";

/** A tool call, from its first delta until its item is done. */
interface Call {
  /** Item id, set when the item is added. */
  id: string;
  /** Output index, -1 until the item is added. */
  index: number;
  callId: string;
  chatName: string;
  /** The arguments so far, for the item and `.done`. */
  args: string;
  /** Whether `args` is blank so far (argument deltas held). */
  blank: boolean;
  /** A function call's arguments not sent in argument deltas yet. */
  held: string;
  custom: boolean;
  /** A function call's argument deltas, once added. */
  frames: DeltaFrames | undefined;
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** The open tool calls. */
export class ToolTrack {
  readonly #out: EventWriter;
  readonly #names: ToolNames;
  /** Open calls by chat tool-call index. */
  #calls = new Map<number, Call>();

  constructor(out: EventWriter, names: ToolNames) {
    this.#out = out;
    this.#names = names;
  }

  /** One element of a chat delta's `tool_calls`. */
  delta(raw: unknown): string {
    if (typeof raw !== "object" || raw === null) return "";
    const delta = raw as Record<string, unknown>;
    const fn = (delta.function ?? {}) as Record<string, unknown>;
    const key = typeof delta.index === "number" ? delta.index : 0;
    const callId = text(delta.id);
    let sse = "";
    let call = this.#calls.get(key);
    if (call && callId !== "" && call.callId !== "" && callId !== call.callId) {
      this.#calls.delete(key);
      sse += this.#close(call);
      call = undefined;
    }
    if (!call) {
      call = {
        id: "",
        index: -1,
        callId,
        chatName: "",
        args: "",
        blank: true,
        held: "",
        custom: false,
        frames: undefined,
      };
      this.#calls.set(key, call);
    }
    if (call.callId === "") call.callId = callId;
    if (call.chatName === "") call.chatName = text(fn.name);
    const piece = text(fn.arguments);
    call.args += piece;
    if (call.blank && piece.trim() !== "") call.blank = false;
    if (call.index >= 0) return sse + this.#argumentsDelta(call, piece);
    return call.chatName === "" ? sse : sse + this.#add(call);
  }

  /**
   * Ends every open call, in the order they started; `cut` (the length limit
   * ended the response) marks a function call whose arguments do not parse
   * `incomplete`.
   */
  close(cut = false): string {
    if (this.#calls.size === 0) return "";
    let sse = "";
    for (const call of this.#calls.values()) sse += this.#close(call, cut);
    this.#calls.clear();
    return sse;
  }

  /** The unfinished items (function calls `incomplete`), for a failed response. */
  partial(output: ResponseOutputItem[]): void {
    for (const call of this.#calls.values()) {
      if (call.index < 0) continue;
      const item = this.#item(call);
      output[call.index] = item.type === "function_call"
        ? { ...item, status: "incomplete" }
        : item;
    }
  }

  #add(call: Call): string {
    call.custom = this.#names.target(call.chatName).kind === "custom";
    call.id = this.#out.newId(call.custom ? "ctc" : "fc");
    if (call.callId === "") call.callId = this.#out.newId("call");
    const item = this.#item(call, "");
    const added = this.#out.add(
      item.type === "function_call" ? { ...item, status: "in_progress" } : item,
    );
    call.index = added.index;
    if (!call.custom) {
      call.held = call.args;
      call.frames = this.#out.deltas({
        type: "response.function_call_arguments.delta",
        item_id: call.id,
        output_index: call.index,
        delta: "",
      });
    }
    return added.sse + this.#argumentsDelta(call, "");
  }

  /**
   * The argument delta for `piece`, the arguments that came last: held while
   * the arguments are blank (a call whose arguments stay blank finishes with
   * `{}` instead), then sent with what was held. Never reads the arguments
   * so far, which made a long call quadratic.
   */
  #argumentsDelta(call: Call, piece: string): string {
    if (!call.frames) return "";
    if (call.blank) {
      call.held += piece;
      return "";
    }
    const delta = call.held + piece;
    call.held = "";
    return delta === "" ? "" : call.frames(delta);
  }

  #item(call: Call, args = call.args) {
    return toolCallItem(this.#names, {
      id: call.id,
      callId: call.callId,
      chatName: call.chatName,
      arguments: args,
    });
  }

  #close(call: Call, cut = false): string {
    // A call whose name never came is added now, nameless.
    let sse = call.index < 0 ? this.#add(call) : "";
    const item = cutShort(
      this.#item(call, call.custom ? call.args : finishedArguments(call.args)),
      cut,
    );
    const at = { item_id: call.id, output_index: call.index };
    if (item.type === "function_call") {
      // Blank arguments finish as `{}`, their only delta.
      if (call.blank && call.frames) sse += call.frames(item.arguments);
      sse += this.#out.emit({
        type: "response.function_call_arguments.done",
        ...at,
        name: item.name,
        arguments: item.arguments,
      });
    } else {
      const input = customInput(call.args);
      if (input !== "") {
        sse += this.#out.emit({
          type: "response.custom_tool_call_input.delta",
          ...at,
          delta: input,
        });
      }
      sse += this.#out.emit({
        type: "response.custom_tool_call_input.done",
        ...at,
        input,
      });
    }
    return sse + this.#out.done(call.index, item);
  }
}
