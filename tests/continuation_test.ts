/**
 * core/continuation.ts: whether a continuation continues the forwarded text,
 * repeats it (the repeat dropped) or starts over and diverges (rejected).
 */
import assert from "node:assert/strict";
import {
  type ContinuationStep,
  ContinuationText,
  RESTART_CHARS,
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

Deno.test(`continuation: sharing fewer than ${RESTART_CHARS} leading characters is a continuation, not a restart`, () => {
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
