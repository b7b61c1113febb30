/**
 * What the routing simulation reports per strategy, and the markdown table.
 *
 * @module
 */
import { percentile } from "../stats.ts";
import type { SimModel } from "./pool.ts";
import type { RequestRecord } from "./sim.ts";
import type { Conversation, Need } from "./traffic.ts";
import type { FailureCause } from "./upstream.ts";

/** One strategy's results. */
export interface Summary {
  strategy: string;
  requests: number;
  answered: number;
  /** Upstream attempts (failed ones included) per answered request. */
  attemptsPerAnswer: number;
  p50s: number;
  p95s: number;
  /** Mean true intelligence index of the models that answered. */
  meanQuality: number;
  /** Model changes between consecutive answered turns of a conversation, per such pair. */
  switchRate: number;
  /** Conversations with at least two answered turns that changed model at least once. */
  switchedConversations: number;
  failures: Record<string, number>;
  /** UTC hours (fractional) of the answered requests. */
  answerHours: number[];
  byNeed: Record<Need, { requests: number; answered: number; quality: number }>;
  /** Attempts and failed attempts by the tried model's true quality band (see {@link BANDS}). */
  byBand: Array<{ attempts: number; failed: number }>;
  /** Failed attempts by why they failed. */
  causes: Record<FailureCause, number>;
}

/** The failure causes in the order the causes table shows them, with its column headings. */
export const CAUSES: readonly { cause: FailureCause; label: string }[] = [
  { cause: "upstream_429", label: "upstream 429, unforeseen" },
  {
    cause: "upstream_429_again",
    label: "upstream 429 in a busy period already met",
  },
  { cause: "model_minute", label: "per-minute capacity 429" },
  { cause: "model_day", label: "per-day capacity 429" },
  { cause: "transient", label: "transient (5xx, timeout)" },
  { cause: "account_day", label: "account's daily cap" },
];

/**
 * The causes a perfect memory could have avoided once the model was chosen:
 * a 429 again in a busy period another attempt had already met, and the
 * models' per-minute and per-day capacity (OpenRouter states the limit, but
 * only in a 429).
 */
const AVOIDABLE: ReadonlySet<FailureCause> = new Set([
  "upstream_429_again",
  "model_minute",
  "model_day",
]);

/** Bands of true quality, lower bounds, best first. */
export const BANDS: readonly { label: string; min: number }[] = [
  { label: "≥ 50", min: 50 },
  { label: "40–49", min: 40 },
  { label: "30–39", min: 30 },
  { label: "< 30", min: -Infinity },
];

function bandOf(quality: number): number {
  return BANDS.findIndex((b) => quality >= b.min);
}

/** Summarises one strategy's records. */
export function summarise(
  strategy: string,
  records: readonly RequestRecord[],
  models: readonly SimModel[],
  conversations: readonly Conversation[],
): Summary {
  const quality = new Map(
    models.map((m) => [m.row.id as string, m.behaviour.quality]),
  );
  const need = new Map(conversations.map((c) => [c.id, c.need]));
  const answered = records.filter((r) => r.model !== undefined);
  const times = answered.map((r) => r.ms / 1000).sort((a, b) => a - b);
  const failures: Record<string, number> = {};
  for (const r of records) {
    if (r.failure) failures[r.failure] = (failures[r.failure] ?? 0) + 1;
  }
  const byNeed = {} as Summary["byNeed"];
  for (const n of ["plain", "tools", "long", "images"] as Need[]) {
    const of = records.filter((r) => need.get(r.conversation) === n);
    const ok = of.filter((r) => r.model !== undefined);
    byNeed[n] = {
      requests: of.length,
      answered: ok.length,
      quality: mean(ok.map((r) => quality.get(r.model!)!)),
    };
  }
  const byBand = BANDS.map(() => ({ attempts: 0, failed: 0 }));
  for (const r of records) {
    r.tried.forEach((id, i) => {
      const band = byBand[bandOf(quality.get(id)!)]!;
      band.attempts++;
      if (r.model === undefined || i < r.tried.length - 1) band.failed++;
    });
  }
  const causes = Object.fromEntries(CAUSES.map((c) => [c.cause, 0])) as Record<
    FailureCause,
    number
  >;
  for (const r of records) for (const c of r.failedBy) causes[c]++;
  const turns = new Map<number, RequestRecord[]>();
  for (const r of answered) {
    const list = turns.get(r.conversation) ?? [];
    list.push(r);
    turns.set(r.conversation, list);
  }
  let pairs = 0;
  let switches = 0;
  let multi = 0;
  let switched = 0;
  for (const list of turns.values()) {
    list.sort((a, b) => a.turn - b.turn);
    if (list.length < 2) continue;
    multi++;
    let changed = false;
    for (let i = 1; i < list.length; i++) {
      pairs++;
      if (list[i]!.model !== list[i - 1]!.model) {
        switches++;
        changed = true;
      }
    }
    if (changed) switched++;
  }
  return {
    strategy,
    requests: records.length,
    answered: answered.length,
    attemptsPerAnswer: records.reduce((s, r) => s + r.attempts, 0) /
      answered.length,
    p50s: percentile(times, 50),
    p95s: percentile(times, 95),
    meanQuality: mean(answered.map((r) => quality.get(r.model!)!)),
    switchRate: pairs === 0 ? 0 : switches / pairs,
    switchedConversations: multi === 0 ? 0 : switched / multi,
    failures,
    answerHours: answered.map((r) => (r.at % 86_400_000) / 3_600_000),
    byNeed,
    byBand,
    causes,
  };
}

/**
 * Attempts per answer had a strategy kept its choice of models and avoided
 * every failure a perfect memory could (see {@link AVOIDABLE}): one answer's
 * attempt plus the unavoidable failures per answer.
 */
export function withoutAvoidable(s: Summary): number {
  let failed = 0;
  for (const { cause } of CAUSES) {
    if (!AVOIDABLE.has(cause)) failed += s.causes[cause];
  }
  return 1 + failed / s.answered;
}

function mean(values: readonly number[]): number {
  return values.length === 0
    ? NaN
    : values.reduce((a, b) => a + b, 0) / values.length;
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

/** The main table: one row per strategy. */
export function table(summaries: readonly Summary[]): string {
  const rows = [
    "| strategy | answered | attempts / answer | p50 time to answer | p95 time to answer | mean quality index | model switches (per follow-up turn) | conversations that switched |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const s of summaries) {
    rows.push(
      `| ${s.strategy} | ${pct(s.answered / s.requests)} | ${
        s.attemptsPerAnswer.toFixed(3)
      } | ${s.p50s.toFixed(1)} s | ${s.p95s.toFixed(1)} s | ${
        s.meanQuality.toFixed(2)
      } | ${pct(s.switchRate)} | ${pct(s.switchedConversations)} |`,
    );
  }
  return rows.join("\n");
}

/** Why requests went unanswered, and answers and quality by need. */
export function details(summaries: readonly Summary[]): string {
  const reasons = [
    "daily_limit",
    "rate_limited",
    "all_failed",
    "no_capable_model",
  ];
  const rows = [
    `| strategy | ${reasons.join(" | ")} | ${
      ["plain", "tools", "long", "images"].map((n) =>
        `${n}: answered / quality`
      )
        .join(" | ")
    } |`,
    `|---|${reasons.map(() => "---:").join("|")}|---:|---:|---:|---:|`,
  ];
  for (const s of summaries) {
    const needs = (["plain", "tools", "long", "images"] as Need[]).map((n) => {
      const b = s.byNeed[n];
      return `${pct(b.answered / b.requests)} / ${b.quality.toFixed(1)}`;
    });
    rows.push(
      `| ${s.strategy} | ${
        reasons.map((r) => s.failures[r] ?? 0).join(" | ")
      } | ${needs.join(" | ")} |`,
    );
  }
  return rows.join("\n");
}

/**
 * Where each strategy's attempts went, by the tried model's true quality, and
 * the share of them that failed there: attempts per answer come to about
 * 1 / (1 − the failed share), so they follow from the models a strategy uses.
 */
export function bands(summaries: readonly Summary[]): string {
  const rows = [
    `| strategy | ${
      BANDS.map((b) => `quality ${b.label}: share of attempts / failed`).join(
        " | ",
      )
    } | all: failed |`,
    `|---|${BANDS.map(() => "---:").join("|")}|---:|`,
  ];
  for (const s of summaries) {
    const total = s.byBand.reduce((n, b) => n + b.attempts, 0);
    const failed = s.byBand.reduce((n, b) => n + b.failed, 0);
    const cells = s.byBand.map((b) =>
      b.attempts === 0
        ? "—"
        : `${pct(b.attempts / total)} / ${pct(b.failed / b.attempts)}`
    );
    rows.push(
      `| ${s.strategy} | ${cells.join(" | ")} | ${pct(failed / total)} |`,
    );
  }
  return rows.join("\n");
}

/**
 * Failed attempts per answer by cause: they add up to attempts per answer
 * minus one. The last column keeps each strategy's choice of models and drops
 * the failures a perfect memory could have avoided.
 */
export function causes(summaries: readonly Summary[]): string {
  const rows = [
    `| strategy | ${
      CAUSES.map((c) => c.label).join(" | ")
    } | attempts / answer | without the avoidable ones |`,
    `|---|${CAUSES.map(() => "---:").join("|")}|---:|---:|`,
  ];
  for (const s of summaries) {
    const cells = CAUSES.map((c) =>
      (s.causes[c.cause] / s.answered).toFixed(3)
    );
    rows.push(
      `| ${s.strategy} | ${cells.join(" | ")} | ${
        s.attemptsPerAnswer.toFixed(3)
      } | ${withoutAvoidable(s).toFixed(3)} |`,
    );
  }
  return rows.join("\n");
}
