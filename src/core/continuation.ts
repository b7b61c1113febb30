/**
 * A stream's continuation (resumption after a break): the text a
 * continuation adds to what was already forwarded. Some models ignore an
 * assistant prefill and start their answer over; a continuation whose text
 * begins by repeating the forwarded text is not forwarded as it is: the
 * repeated part is dropped when it matches exactly, and a restart that then
 * diverges rejects the prefill. Pure.
 *
 * @module
 */

/**
 * How many leading characters must repeat the forwarded text for a
 * continuation to count as a restart (fewer when less was forwarded). One
 * that parts from it sooner is a restart only in other words (see
 * {@link rewords}): merely beginning with the same word or two is not one.
 */
export const RESTART_CHARS = 16;

/** What to do with a continuation's text so far. */
export type ContinuationStep =
  /** Still ambiguous (it may be a restart in progress): forward nothing yet. */
  | { kind: "hold" }
  /** Forward this text (possibly empty: the repeated part was dropped). */
  | { kind: "forward"; text: string }
  /** It started over and then said something else: it rejects the prefill. */
  | { kind: "reject" };

/**
 * Whether a continuation that parts from the forwarded text within its first
 * {@link RESTART_CHARS} characters started the answer over in other words
 * ("The capital is Paris." after "The capital of France is"): it repeats at
 * least two whole words of the forwarded text's beginning, and the forwarded
 * text stopped mid-sentence, where no continuation begins with the answer's
 * first words. After a sentence or a line ends, a new one may well begin as
 * the first did (a list, a table), so that is left a continuation. White
 * space before the restart is passed over.
 */
export function rewords(seen: string, forwarded: string): boolean {
  // A restart may begin with white space the answer did not.
  const again = forwarded.trimStart() === forwarded ? seen.trimStart() : seen;
  let shared = 0;
  while (
    shared < again.length && shared < forwarded.length &&
    again[shared] === forwarded[shared]
  ) shared++;
  const repeated = again.slice(0, shared);
  // Whole words repeated: each ends with white space inside the shared part;
  // in Chinese and Japanese, written without spaces, two characters count
  // as one.
  const words = (repeated.match(/\S\s/g)?.length ?? 0) +
    Math.floor((repeated.match(CJK)?.length ?? 0) / 2);
  if (words < 2) return false;
  const end = forwarded.trimEnd();
  if (forwarded.slice(end.length).includes("\n")) return false;
  return !/[.!?:;)\]}>"'`*|。！？：；）」』】》…]$/.test(end);
}

/** Chinese and Japanese characters (written without spaces between words). */
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/gu;

/** Follows one continuation's content deltas against the forwarded text. */
export class ContinuationText {
  readonly #forwarded: string;
  readonly #restartChars: number;
  #held = "";
  /** Leading white space of `#held` already passed on. */
  #passed = 0;
  #decided = false;

  /** A continuation of `forwarded`. */
  constructor(forwarded: string) {
    this.#forwarded = forwarded;
    this.#restartChars = Math.min(RESTART_CHARS, forwarded.length);
  }

  /** Whether text is being held back (nothing decided yet). */
  get holding(): boolean {
    return !this.#decided && this.#held.length > this.#passed;
  }

  /** One content delta of the continuation. */
  feed(delta: string): ContinuationStep {
    if (this.#decided) return { kind: "forward", text: delta };
    const seen = this.#held + delta;
    const forwarded = this.#forwarded;
    // Only white space yet: passed on as it is (the caller holds white
    // space), and kept to be read with what follows: it may lead a restart
    // (see rewords).
    if (seen.trim() === "" && forwarded.trimStart() === forwarded) {
      this.#held = seen;
      this.#passed = seen.length;
      return { kind: "forward", text: delta };
    }
    const probe = Math.min(seen.length, this.#restartChars);
    if (seen.slice(0, probe) !== forwarded.slice(0, probe)) {
      // Started over in other words, or not a restart: a continuation.
      return rewords(seen, forwarded)
        ? { kind: "reject" }
        : this.#decide(seen.slice(this.#passed));
    }
    if (seen.length < this.#restartChars) return this.#hold(seen);
    // A restart: it must repeat the whole forwarded text before going on.
    if (seen.length < forwarded.length) {
      return forwarded.startsWith(seen) ? this.#hold(seen) : { kind: "reject" };
    }
    return seen.startsWith(forwarded)
      ? this.#decide(seen.slice(forwarded.length))
      : { kind: "reject" };
  }

  /**
   * Anything other than content arrived (a finish, a tool call). Text still
   * held repeats the start of the forwarded text and stopped short of it
   * (e.g. "Hel" after "Hello world"): a restart cut short, which rejects the
   * prefill. Otherwise the continuation is decided.
   */
  settle(): ContinuationStep {
    if (this.holding) return { kind: "reject" };
    return this.#decide("");
  }

  #hold(seen: string): ContinuationStep {
    this.#held = seen;
    return { kind: "hold" };
  }

  #decide(text: string): ContinuationStep {
    this.#decided = true;
    this.#held = "";
    return { kind: "forward", text };
  }
}
