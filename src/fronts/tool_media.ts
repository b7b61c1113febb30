/**
 * Images and files in tool results, for both agent fronts. A chat `tool`
 * message carries text only, so a result's images and files go to the
 * `user` message that follows the run of tool messages; each result's parts
 * there come after a line naming its call, so that a model given several
 * can tell whose each is, and a result of nothing else says in its tool
 * message where it went (an empty tool message says nothing, and some
 * providers refuse one). Pure.
 *
 * @module
 */

/** A chat content part (`image_url`, `file`, `text`). */
type ChatPart = Record<string, unknown>;

/** The text of a tool message whose result also had images or files (`media`). */
export function toolText(text: string, media: readonly ChatPart[]): string {
  return text !== "" || media.length === 0
    ? text
    : "(The result is attached to the next message.)";
}

/** A result's images and files for the user message after the tool messages, after a line naming the call. */
export function toolMedia(
  callId: string,
  media: readonly ChatPart[],
): ChatPart[] {
  return media.length === 0
    ? []
    : [{ type: "text", text: `Result of tool call ${callId}:` }, ...media];
}
