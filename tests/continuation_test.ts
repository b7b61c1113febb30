/**
 * core/continuation.ts: whether a continuation continues the forwarded text,
 * repeats it (the repeat dropped) or starts over and diverges (rejected).
 */
import assert from "node:assert/strict";
import {
  type ContinuationStep,
  ContinuationText,
  RESTART_CHARS,
  rewords,
} from "../src/core/continuation.ts";

function feedAll(forwarded: string, deltas: string[]): ContinuationStep[] {
  const text = new ContinuationText(forwarded);
  return deltas.map((d) => text.feed(d));
}

Deno.test("continuation: text that does not repeat the start is forwarded at once", () => {
  assert.deepEqual(feedAll("Hello wor", ["ld", "!"]), [
    { kind: "forward", text: "ld" },
    { kind: "forward", text: "!" },
  ]);
});

Deno.test("continuation: a restart that repeats the whole forwarded text has the repeat dropped", () => {
  assert.deepEqual(
    feedAll("The quick brown fox", ["The quick ", "brown fox", " jumps"]),
    [
      { kind: "hold" },
      { kind: "forward", text: "" },
      { kind: "forward", text: " jumps" },
    ],
  );
});

Deno.test("continuation: a restart that diverges from the forwarded text rejects the prefill", () => {
  assert.deepEqual(
    feedAll("The quick brown fox", ["The quick brown ", "dog"]),
    [{ kind: "hold" }, { kind: "reject" }],
  );
});

Deno.test(`continuation: sharing fewer than ${RESTART_CHARS} leading characters, of one word, is a continuation, not a restart`, () => {
  const steps = feedAll("The quick brown fox jumps over", ["The ", "end."]);
  assert.deepEqual(steps, [
    { kind: "hold" },
    { kind: "forward", text: "The end." },
  ]);
});

Deno.test("continuation: text held when the stream settles is a restart cut short", () => {
  const text = new ContinuationText("Hello world, how are you");
  assert.deepEqual(text.feed("Hello w"), { kind: "hold" });
  assert.equal(text.holding, true);
  assert.deepEqual(text.settle(), { kind: "reject" });
});

Deno.test("continuation: settling with nothing held decides it", () => {
  const text = new ContinuationText("Hello");
  assert.deepEqual(text.settle(), { kind: "forward", text: "" });
  assert.deepEqual(text.feed("Hello"), { kind: "forward", text: "Hello" });
});

Deno.test("continuation: a restart in other words (two whole words of the start, then something else) after text that stopped mid-sentence rejects the prefill", () => {
  assert.deepEqual(
    feedAll("The capital of France is", ["The capital ", "is Paris."]),
    [{ kind: "hold" }, { kind: "reject" }],
  );
  assert.deepEqual(
    feedAll("Answer from acme/agent-no", ["Answer from vis/vision"]),
    [{ kind: "reject" }],
  );
});

Deno.test("continuation: repeating the start's first words is a continuation after a sentence or a line ended, or when fewer than two whole words repeat", () => {
  // A new sentence or line may begin as the first did.
  assert.equal(
    rewords("The capital of Spain", "The capital of France."),
    false,
  );
  assert.equal(rewords("- item three\n", "- item one\n- item two\n"), false);
  assert.equal(rewords("| c | d |", "| a | b |"), false);
  // One word is no evidence.
  assert.equal(rewords("The end.", "The quick brown fox jumps over"), false);
  assert.equal(rewords("The capital is", "The capital of France is"), true);
});

Deno.test("continuation: a restart in other words that begins with white space, or in Chinese or Japanese, rejects the prefill; a continuation after white space is forwarded with it", () => {
  assert.deepEqual(
    feedAll("The capital of France is", [" ", " The capital is Paris."]),
    [{ kind: "forward", text: " " }, { kind: "reject" }],
  );
  assert.deepEqual(
    feedAll("The capital of France is", [" ", " Paris."]),
    [{ kind: "forward", text: " " }, { kind: "forward", text: " Paris." }],
  );
  // White space only, then the end: passed on as it came, nothing held.
  const blank = new ContinuationText("The capital of France is");
  assert.deepEqual(blank.feed(" "), { kind: "forward", text: " " });
  assert.equal(blank.holding, false);
  assert.deepEqual(blank.settle(), { kind: "forward", text: "" });
  // Chinese: two characters count as a word.
  assert.equal(rewords("巴黎是法国首都。", "巴黎是法国的首都，也是"), true);
  assert.equal(
    rewords("巴黎很美。", "巴黎是法国的首都，也是"),
    false,
    "one word",
  );
  assert.equal(
    rewords("巴黎是法国首都。", "巴黎是法国的首都。"),
    false,
    "after a sentence ended",
  );
  assert.equal(rewords("東京は日本の首都", "東京は日本で一番"), true);
});
