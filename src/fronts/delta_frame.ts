/**
 * Frames of the fronts' per-delta stream events, without serialising a whole
 * event object per delta. An answer is mostly delta events (a text, thinking,
 * reasoning or tool-arguments piece each) that differ from the one before
 * only in the delta text (and, for Responses, the sequence number). Each
 * kind is serialised once, with {@link HOLE} for the delta, and split there;
 * the frame for a delta is then `head + JSON.stringify(delta) + tail`, byte
 * for byte what `JSON.stringify` of the whole event gives, since a string
 * member is serialised the same wherever it sits.
 *
 * @module
 */

/** The delta's stand-in in a template; serialised, it is `"\u0000"`. */
export const HOLE = "\u0000";
const HOLE_JSON = JSON.stringify(HOLE);

/**
 * A serialised event whose delta is {@link HOLE}, split around it. The hole
 * is found from the end: members before the delta may hold anything, members
 * after it (constants, in the fronts' events) must not hold {@link HOLE}.
 *
 * @example
 * ```ts
 * import { HOLE, splitAtHole } from "./delta_frame.ts";
 * const [head, tail] = splitAtHole(JSON.stringify({ index: 0, text: HOLE }));
 * console.log(head + JSON.stringify('say "hi"') + tail);
 * // {"index":0,"text":"say \"hi\""}
 * ```
 */
export function splitAtHole(template: string): [string, string] {
  const at = template.lastIndexOf(HOLE_JSON);
  if (at < 0) throw new TypeError("the event template has no delta hole");
  return [template.slice(0, at), template.slice(at + HOLE_JSON.length)];
}
