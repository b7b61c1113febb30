/** The routing benchmark's report: where a strategy's attempts went (bench/routing/report.ts). */
import assert from "node:assert/strict";
import {
  BANDS,
  bands,
  causes,
  summarise,
  withoutAvoidable,
} from "../bench/routing/report.ts";
import type { SimModel } from "../bench/routing/pool.ts";
import type { RequestRecord } from "../bench/routing/sim.ts";
import type { Conversation } from "../bench/routing/traffic.ts";
import type { FailureCause } from "../bench/routing/upstream.ts";

const model = (id: string, quality: number): SimModel => ({
  row: { id },
  behaviour: { quality, ttftMs: 1000, failRate: 0, rpmCap: 10, busy429: 0 },
});
const models = [model("strong", 60), model("mid", 45), model("weak", 20)];
const conversation: Conversation = {
  id: 0,
  account: 0,
  need: "plain",
  start: 0,
  turns: 3,
  baseTokens: 100,
  tokensPerTurn: 10,
  gapsMs: [1000, 1000],
};
const record = (
  turn: number,
  tried: string[],
  model?: string,
  failedBy: FailureCause[] = [],
): RequestRecord => ({
  conversation: 0,
  turn,
  at: 0,
  ms: 1000,
  attempts: tried.length,
  tried,
  failedBy,
  ...(model === undefined ? { failure: "all_failed" } : { model }),
});

Deno.test("summarise() counts each attempt in its model's quality band, and every attempt but the answering one as failed", () => {
  const s = summarise(
    "quality",
    [
      record(0, ["strong", "mid"], "mid"),
      record(1, ["strong", "weak"]),
      record(2, ["mid"], "mid"),
    ],
    models,
    [conversation],
  );
  assert.deepEqual(BANDS.map((b) => b.label), [
    "≥ 50",
    "40–49",
    "30–39",
    "< 30",
  ]);
  assert.deepEqual(s.byBand, [
    { attempts: 2, failed: 2 },
    { attempts: 2, failed: 0 },
    { attempts: 0, failed: 0 },
    { attempts: 1, failed: 1 },
  ]);
  assert.equal(s.attemptsPerAnswer, 5 / 2);
  const row = bands([s]).split("\n")[2];
  assert.equal(
    row,
    "| quality | 40.0 % / 100.0 % | 40.0 % / 0.0 % | — | 20.0 % / 100.0 % | 60.0 % |",
  );
});

Deno.test("summarise() counts failed attempts by cause; withoutAvoidable() drops repeated busy-period 429s and capacity 429s, and keeps the rest", () => {
  const s = summarise(
    "quality",
    [
      record(0, ["strong", "strong", "mid"], "mid", [
        "upstream_429",
        "upstream_429_again",
      ]),
      record(1, ["strong", "mid", "weak"], "weak", [
        "model_minute",
        "transient",
      ]),
      record(2, ["mid", "weak"], undefined, ["model_day", "account_day"]),
    ],
    models,
    [conversation],
  );
  assert.deepEqual(s.causes, {
    upstream_429: 1,
    upstream_429_again: 1,
    model_minute: 1,
    model_day: 1,
    transient: 1,
    account_day: 1,
  });
  assert.equal(s.attemptsPerAnswer, 8 / 2);
  // Kept: the unforeseen 429, the transient failure and the account's cap.
  assert.equal(withoutAvoidable(s), 1 + 3 / 2);
  assert.equal(
    causes([s]).split("\n")[2],
    "| quality | 0.500 | 0.500 | 0.500 | 0.500 | 0.500 | 0.500 | 4.000 | 2.500 |",
  );
});
