/**
 * The pool-wide outage rule (src/core/outage.ts): which rounds count, how
 * long the account's attempts pause, and how overlapping rounds and answers
 * in between are taken.
 */
import assert from "node:assert/strict";
import {
  FIRST_OUTAGE_PAUSE_MS,
  isDownFailure,
  isOutageRound,
  MAX_OUTAGE_PAUSE_MS,
  nextOutage,
  OUTAGE_MEMORY_MS,
  outageCovers,
  outageHoldsPool,
  outageOrderEnds,
  outagePauseLeft,
  REPEATED_OUTAGE_PAUSE_MS,
  withOutageModels,
} from "../src/core/outage.ts";

const t = (model: string, down = true) => ({ model, down });
/** A round that failed on a, b and c. */
const ROUND = [t("a"), t("b"), t("c")];

Deno.test("isDownFailure(): a 5xx (inside a 200 too), a timeout or a lost connection; not an answer that was no answer, nor a 4xx", () => {
  assert.equal(isDownFailure("http", 503), true);
  assert.equal(isDownFailure("error_body", 502), true);
  assert.equal(isDownFailure("network", 0), true);
  assert.equal(isDownFailure("timeout", 0), true);
  for (
    const kind of [
      "empty_answer",
      "invalid_tool_call",
      "invalid_body",
      "empty_stream",
      "incomplete_stream",
    ]
  ) assert.equal(isDownFailure(kind, 200), false, kind);
  assert.equal(isDownFailure("http", 408), false);
  assert.equal(isDownFailure("http", 404), false);
});

Deno.test("withOutageModels(): the outage's models cool until twice the pause has passed, a longer cooldown of their own kept, others untouched", () => {
  const o = nextOutage(undefined, ROUND, 0, 1_000);
  const own = new Map([
    ["b", { model: "b", until: 999_999, reason: "429" }],
    ["x", { model: "x", until: 5_000, reason: "429" }],
  ]);
  const merged = withOutageModels(own, o);
  assert.equal(merged.get("a")?.until, 1_000 + 2 * FIRST_OUTAGE_PAUSE_MS);
  assert.equal(merged.get("b")?.until, 999_999);
  assert.equal(merged.get("c")?.reason, "outage");
  assert.equal(merged.get("x")?.until, 5_000);
  assert.equal(own.size, 2, "the state's own map is left as it was");
});

Deno.test("isOutageRound(): every attempt down, on at least 3 distinct models", () => {
  assert.equal(isOutageRound([t("a"), t("b"), t("c")]), true);
  assert.equal(isOutageRound([t("a"), t("b"), t("c"), t("a")]), true);
  assert.equal(isOutageRound([t("a"), t("b"), t("a")]), false, "2 models");
  assert.equal(
    isOutageRound([t("a"), t("b"), t("c", false)]),
    false,
    "a failure of another kind (a 429, a refusal) says something else",
  );
  assert.equal(isOutageRound([]), false);
});

Deno.test("nextOutage(): 30 s after the first round, 120 s after a second in a row, doubling up to 10 minutes", () => {
  let o = nextOutage(undefined, ROUND, 0, 1_000);
  assert.deepEqual(o, {
    rounds: 1,
    until: 1_000 + FIRST_OUTAGE_PAUSE_MS,
    at: 1_000,
    models: new Set(["a", "b", "c"]),
  });
  const pauses: number[] = [];
  let now = 1_000;
  for (let i = 0; i < 6; i++) {
    now = o.until;
    o = nextOutage(o, ROUND, now, now + 500);
    pauses.push(o.until - (now + 500));
  }
  assert.deepEqual(pauses, [
    REPEATED_OUTAGE_PAUSE_MS,
    2 * REPEATED_OUTAGE_PAUSE_MS,
    4 * REPEATED_OUTAGE_PAUSE_MS,
    MAX_OUTAGE_PAUSE_MS,
    MAX_OUTAGE_PAUSE_MS,
    MAX_OUTAGE_PAUSE_MS,
  ]);
});

Deno.test("nextOutage(): a round that began before the last was found is the same evidence (it adds its models, not a round); one long after the pause starts anew", () => {
  const first = nextOutage(undefined, ROUND, 0, 10_000);
  const together = nextOutage(first, [t("d")], 9_000, 11_000);
  assert.deepEqual(
    { ...together, models: [...together.models] },
    { ...first, models: ["a", "b", "c", "d"] },
  );
  const later = first.until + OUTAGE_MEMORY_MS;
  const anew = nextOutage(first, [t("x"), t("y"), t("z")], later, later + 1);
  assert.equal(anew.rounds, 1);
  assert.deepEqual([...anew.models], ["x", "y", "z"]);
  assert.equal(nextOutage(first, ROUND, later - 10, later - 1).rounds, 2);
});

Deno.test("outageCovers(): a request is held when its first candidates (up to 3) all failed in the outage; one for other models goes out", () => {
  const o = nextOutage(undefined, ROUND, 0, 0);
  assert.equal(outageCovers(o, ["a", "b", "c", "x"]), true);
  assert.equal(outageCovers(o, ["b", "a"]), true, "fewer candidates");
  assert.equal(outageCovers(o, ["x", "a", "b"]), false);
  assert.equal(outageCovers(o, ["a", "b", "x"]), false);
  assert.equal(outageCovers(o, []), false);
});

Deno.test("outagePauseLeft(): whole seconds left, rounded up; undefined once the pause is over or without an outage", () => {
  const o = nextOutage(undefined, ROUND, 0, 0);
  assert.equal(outagePauseLeft(o, 0), 30);
  assert.equal(outagePauseLeft(o, 29_001), 1);
  assert.equal(outagePauseLeft(o, 30_000), undefined);
  assert.equal(outagePauseLeft(undefined, 0), undefined);
});

Deno.test("outageHoldsPool(): while the pause holds, when every model of the pool failed in the outage or cools down; outageOrderEnds() at twice the pause", () => {
  const o = nextOutage(undefined, ROUND, 0, 0);
  const none = () => false;
  assert.equal(outageHoldsPool(o, ["a", "b", "c"], none, 0), true);
  assert.equal(outageHoldsPool(o, ["a", "b", "c", "x"], none, 0), false);
  assert.equal(
    outageHoldsPool(o, ["a", "b", "c", "x"], (id) => id === "x", 0),
    true,
    "x cools down",
  );
  assert.equal(outageHoldsPool(o, ["a", "b", "c"], none, 30_000), false);
  assert.equal(outageOrderEnds(o), 60_000);
});
