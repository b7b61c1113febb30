/**
 * `deno task bench:routing`: a seeded simulation of one day of agent traffic
 * against a simulated free pool, in virtual time, comparing freerouter's
 * strategies (`quality`, the default; `priority`; `adaptive`) with a uniformly
 * random order among capable models. Writes bench/routing.md.
 *
 * Options: `--seed N` (default 1), `--conversations N` (default 2000),
 * `--seeds a,b,c` (extra seeds for the robustness table; default 2,3,4,5),
 * `--out PATH` (default bench/routing.md; `-` prints only).
 *
 * @module
 */
import { simulatedPool } from "./routing/pool.ts";
import {
  bands,
  causes,
  details,
  summarise,
  type Summary,
  table,
  withoutAvoidable,
} from "./routing/report.ts";
import { type SimInput, type SimStrategy, simulate } from "./routing/sim.ts";
import type { BusyModel } from "./routing/upstream.ts";
import { buildFreePool } from "../src/core/free_pool.ts";
import { qualityScores } from "../src/core/quality.ts";
import { baseOrder } from "../src/core/ranking.ts";
import { makeTraffic, type TrafficOptions } from "./routing/traffic.ts";
import { attemptsBound, informedOrder } from "./routing/bound.ts";

const STRATEGIES: SimStrategy[] = ["quality", "priority", "adaptive", "random"];

function option(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && Deno.args[i + 1] !== undefined
    ? Deno.args[i + 1]!
    : fallback;
}

const seed = Number(option("seed", "1"));
const conversations = Number(option("conversations", "2000"));
const extraSeeds = option("seeds", "2,3,4,5").split(",").filter((s) => s !== "")
  .map(Number);
const out = option("out", "bench/routing.md");

function trafficOptions(s: number): TrafficOptions {
  return { seed: s, conversations, paidAccounts: 20, freeAccounts: 5 };
}

function run(
  s: number,
  busyModel: BusyModel,
): { summaries: Summary[]; requests: number; ms: number } {
  const started = performance.now();
  const models = simulatedPool();
  const traffic = makeTraffic(trafficOptions(s));
  const summaries = STRATEGIES.map((strategy) =>
    summarise(
      strategy,
      simulate({ strategy, models, traffic, seed: s, busyModel }),
      models,
      traffic.conversations,
    )
  );
  return {
    summaries,
    requests: summaries[0]!.requests,
    ms: performance.now() - started,
  };
}

interface Check {
  target: string;
  met: boolean;
  numbers: string;
}

function checks(summaries: readonly Summary[]): Check[] {
  const [q, ...others] = summaries as [Summary, ...Summary[]];
  const share = (s: Summary) => s.answered / s.requests;
  const best = others.reduce((a, b) => share(a) >= share(b) ? a : b);
  const names = (f: (s: Summary) => string) =>
    others.map((s) => `${s.strategy} ${f(s)}`).join(", ");
  return [
    {
      target: "answers at least as many requests as the best other strategy",
      met: q.answered >= best.answered,
      numbers: `quality ${q.answered} vs ${best.strategy} ${best.answered}`,
    },
    {
      target: "higher mean quality index than every other strategy",
      met: others.every((s) => q.meanQuality > s.meanQuality),
      numbers: `quality ${q.meanQuality.toFixed(2)} vs ${
        names((s) => s.meanQuality.toFixed(2))
      }`,
    },
    {
      target: "no more upstream attempts per answer than any other strategy",
      met: others.every((s) => q.attemptsPerAnswer <= s.attemptsPerAnswer),
      numbers: `quality ${q.attemptsPerAnswer.toFixed(3)} vs ${
        names((s) => s.attemptsPerAnswer.toFixed(3))
      }`,
    },
  ];
}

const SCENARIOS: Array<{ busyModel: BusyModel; title: string; text: string }> =
  [
    {
      busyModel: "periods",
      title: "Upstream 429s in busy periods",
      text:
        "A model's shared upstream capacity runs out for whole 2-minute periods (then 90 % of attempts get " +
        "a 429, 2 % otherwise), more often at peak hours and for the popular models.",
    },
    {
      busyModel: "independent",
      title: "Upstream 429s drawn per attempt",
      text:
        "Each attempt draws its own upstream 429 with the same daily share: a 429 says nothing about the " +
        "next attempt, so the 60 s cooldown after it only costs capacity.",
    },
  ];

/** One sentence on what `quality` gains and pays against the others. */
function tradeOff(summaries: readonly Summary[]): string {
  const [q, ...others] = summaries as [Summary, ...Summary[]];
  const share = (s: Summary) => 100 * s.answered / s.requests;
  const bestQuality = others.reduce((a, b) =>
    a.meanQuality >= b.meanQuality ? a : b
  );
  const fewest = others.reduce((a, b) =>
    a.attemptsPerAnswer <= b.attemptsPerAnswer ? a : b
  );
  const sign = (x: number, digits: number) =>
    `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(digits)}`;
  return `In short: \`quality\` answers with models ${
    sign(q.meanQuality - bestQuality.meanQuality, 1)
  } index points better than the next best (${bestQuality.strategy}), and pays ${
    sign(q.attemptsPerAnswer - fewest.attemptsPerAnswer, 3)
  } attempts per answer against the thriftiest (${fewest.strategy}), which under the daily caps costs ${
    sign(share(q) - share(fewest), 1)
  } points of requests answered. The strong models are the contended ones here (more upstream 429s, less ` +
    "per-minute capacity), so putting them first spends attempts on 429s that `adaptive` avoids by settling on " +
    `small, always-available models: ${
      strongShare(fewest)
    } Better answers at ${fewest.strategy}'s attempts per answer would need those models to fail less often than they do even under ${fewest.strategy}'s light use of them.`;
}

/** How much of a strategy's attempts went to models of quality 40 and above, and how often those failed. */
function strongShare(s: Summary): string {
  const [a, b] = [s.byBand[0]!, s.byBand[1]!];
  const total = s.byBand.reduce((n, x) => n + x.attempts, 0);
  const strong = a.attempts + b.attempts;
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  return `${
    pct(strong / total)
  } of ${s.strategy}'s attempts went to models of true quality 40 and above, and ${
    pct((a.failed + b.failed) / strong)
  } of those failed (${
    pct(
      s.byBand.reduce((n, x) => n + x.failed, 0) / total,
    )
  } of all its attempts).`;
}

/** What `quality` would spend with no avoidable failure, against the thriftiest other strategy as it is. */
function floor(summaries: readonly Summary[]): string {
  const [q, ...others] = summaries as [Summary, ...Summary[]];
  const fewest = others.reduce((a, b) =>
    a.attemptsPerAnswer <= b.attemptsPerAnswer ? a : b
  );
  const f = withoutAvoidable(q);
  return `Without a single avoidable failure, \`quality\`'s choice of models would cost ${
    f.toFixed(3)
  } attempts per answer, ${
    f > fewest.attemptsPerAnswer ? "more" : "no more"
  } than ${fewest.strategy} spends with all of its own (${
    fewest.attemptsPerAnswer.toFixed(3)
  }): the rest are unforeseen upstream 429s and transient failures, which come with the models it chose.`;
}

/**
 * With independent draws: the fewest attempts per answer any strategy could
 * spend for the others' best mean quality and for `quality`'s (bound.ts).
 */
function bound(summaries: readonly Summary[]): string[] {
  const [q, ...others] = summaries as [Summary, ...Summary[]];
  const best = others.reduce((a, b) => a.meanQuality >= b.meanQuality ? a : b);
  const fewest = others.reduce((a, b) =>
    a.attemptsPerAnswer <= b.attemptsPerAnswer ? a : b
  );
  const models = simulatedPool();
  const at = (target: number) =>
    attemptsBound(models, q.answerHours, target)?.toFixed(3) ?? "—";
  return [
    "What the pool allows at best: an oracle that knows each model's chance of a 429 or a failure hour by " +
    "hour (bench/routing/bound.ts), and pays nothing for capacity, the daily caps or the requests' needs, " +
    `needs at least ${
      at(best.meanQuality)
    } attempts per answer to answer with ${best.strategy}'s mean quality ` +
    `(${best.meanQuality.toFixed(2)}), and ${
      at(q.meanQuality)
    } with \`quality\`'s (${
      q.meanQuality.toFixed(2)
    }); ${fewest.strategy} spends ${fewest.attemptsPerAnswer.toFixed(3)}.`,
    "",
  ];
}

/** `quality` on seed's traffic with its order changed the bench-only way `change` says (sim.ts). */
function probe(
  busyModel: BusyModel,
  change: Pick<SimInput, "successPenalty" | "order">,
): Summary {
  const models = simulatedPool();
  const traffic = makeTraffic(trafficOptions(seed));
  return summarise(
    "quality",
    simulate({
      strategy: "quality",
      models,
      traffic,
      seed,
      busyModel,
      ...change,
    }),
    models,
    traffic.conversations,
  );
}

/** The penalties the trade-off section tries. */
const PENALTIES = [10, 20, 40, 80, 160, 320, 1000];

/**
 * `quality` with a stronger health demotion than freerouter's (bench-only:
 * score − penalty × recent failure share), against the other strategies:
 * whether any penalty meets the three targets at once.
 */
function penaltySweep(busyModel: BusyModel): string[] {
  const main = run(seed, busyModel).summaries;
  const others = main.slice(1);
  const swept = PENALTIES.map((penalty) => ({
    penalty,
    s: probe(busyModel, { successPenalty: penalty }),
  }));
  const rows = swept.map(({ penalty, s }) =>
    `| ${penalty} | ${(100 * s.answered / s.requests).toFixed(1)} % | ${
      s.attemptsPerAnswer.toFixed(3)
    } | ${s.meanQuality.toFixed(2)} | ${
      checks([s, ...others]).filter((c) => c.met).length
    } of 3 |`
  );
  const thrifty = swept.reduce((a, b) =>
    a.s.attemptsPerAnswer <= b.s.attemptsPerAnswer ? a : b
  );
  const fewest = others.reduce((a, b) =>
    a.attemptsPerAnswer <= b.attemptsPerAnswer ? a : b
  );
  const allMet = swept.filter(({ s }) =>
    checks([s, ...others]).every((c) => c.met)
  );
  const ref = (s: Summary) =>
    `| ${s.strategy}${
      s.strategy === "quality" ? " (its health tiers)" : ""
    } | ${(100 * s.answered / s.requests).toFixed(1)} % | ${
      s.attemptsPerAnswer.toFixed(3)
    } | ${s.meanQuality.toFixed(2)} | |`;
  return [
    "## Trading quality for reliability",
    "",
    "Could a stronger health demotion buy `quality` the attempts it misses? Here (busy periods, seed " +
    `${seed}) its order is re-sorted by score − penalty × the model's recent failure share (health of the ` +
    "last 15 minutes; a bench-only probe, not a freerouter setting), in place of its health tiers, and " +
    "checked against the targets with the other strategies as above:",
    "",
    "| penalty | answered | attempts / answer | mean quality | targets met |",
    "|---|---:|---:|---:|---:|",
    ...rows,
    ...main.map(ref),
    "",
    allMet.length > 0
      ? `Penalties ${
        allMet.map((x) => x.penalty).join(", ")
      } meet all three targets.`
      : `No penalty meets all three targets. The fewest attempts per answer, ${
        thrifty.s.attemptsPerAnswer.toFixed(3)
      } at penalty ${thrifty.penalty}, are still more than ${fewest.strategy}'s ${
        fewest.attemptsPerAnswer.toFixed(3)
      }, and cost the quality lead (mean quality ${
        thrifty.s.meanQuality.toFixed(2)
      }): the stronger the demotion, the more \`quality\` answers with the models the others use.`,
    "",
  ];
}

/** The multipliers the informed oracles try: 200, 220, … 600. */
const LAMBDAS = Array.from({ length: 21 }, (_, i) => 200 + 20 * i);

/**
 * Informed oracles through the whole simulation: `quality`'s order replaced
 * by quality − λ × each model's true chance of failing that hour, ranking by
 * freerouter's scores and by the hidden true quality, checked against the
 * targets with the other strategies as above.
 */
function informed(): string[] {
  const models = simulatedPool();
  const fmt = (lambda: number, s: Summary) =>
    `λ ${lambda}: ${
      (100 * s.answered / s.requests).toFixed(1)
    } % (${s.answered}) / ${s.attemptsPerAnswer.toFixed(3)} / ${
      s.meanQuality.toFixed(2)
    }`;
  const results = SCENARIOS.flatMap(({ busyModel, title }) => {
    const others = run(seed, busyModel).summaries.slice(1);
    return (["score", "truth"] as const).map((by) => {
      const swept = LAMBDAS.map((lambda) => {
        const s = probe(busyModel, {
          order: informedOrder(models, lambda, by),
        });
        return { lambda, s, met: checks([s, ...others]).map((c) => c.met) };
      });
      type Row = typeof swept[number];
      const pick = (rows: Row[], better: (a: Row, b: Row) => boolean) =>
        rows.reduce<Row | undefined>(
          (a, b) => a === undefined || better(b, a) ? b : a,
          undefined,
        );
      return {
        scenario: title.replace("Upstream 429s ", ""),
        by,
        all: swept.filter((x) => x.met.every(Boolean)).map((x) => x.lambda),
        best: pick(
          swept.filter((x) => x.met[0] && x.met[2]),
          (a, b) => a.s.meanQuality > b.s.meanQuality,
        ),
        thrifty: pick(
          swept.filter((x) => x.met[1]),
          (a, b) => a.s.attemptsPerAnswer < b.s.attemptsPerAnswer,
        ),
      };
    });
  });
  const rows = results.map((r) =>
    `| ${r.scenario} | ${
      r.by === "score" ? "freerouter's scores" : "true quality"
    } | ${r.all.length > 0 ? r.all.join(", ") : "none"} | ${
      r.best ? fmt(r.best.lambda, r.best.s) : "—"
    } | ${r.thrifty ? fmt(r.thrifty.lambda, r.thrifty.s) : "—"} |`
  );
  const met = (by: "score" | "truth") =>
    results.filter((r) => r.by === by && r.all.length > 0);
  const where = (rs: typeof results) =>
    rs.map((r) => `${r.scenario} (λ ${r.all.join(", ")})`).join(" and ");
  const verdict = met("score").length === 0
    ? "Even knowing every model's chance of failing hour by hour, an order by freerouter's scores meets " +
      "the three targets at no λ: wherever it answers as many requests as the best other strategy with no " +
      "more attempts, its mean quality is below the others' best. " +
      (met("truth").length === 0
        ? "Ranking by the hidden true quality does not meet them either."
        : `Ranking by the hidden true quality as well meets them with 429s ${
          where(met("truth"))
        }, and nowhere else: the targets need what the catalog does not say (the true quality of the models it ` +
          "scores only in part or not at all) besides what freerouter can only learn by spending attempts.")
    : `An order by freerouter's scores meets the three targets with 429s ${
      where(met("score"))
    }: a routing that learned each model's failure chance well enough could too.`;
  return [
    "## What the targets need",
    "",
    "Two informed oracles run through the same simulation (capacity, the daily caps, the requests' needs, " +
    "affinity, cooldowns and fallback as above), seed " + seed +
    ". Each orders the pool by quality − λ × " +
    "the model's true chance of failing at that hour (its upstream 429 share and transient failure rate, " +
    "which freerouter can only learn by spending attempts), for λ from " +
    LAMBDAS[0] + " to " +
    LAMBDAS.at(-1) +
    " in steps of 20 (bench/routing/bound.ts `informedOrder`). One ranks by freerouter's " +
    "quality scores (the catalog's indices and its estimates for the unscored models), the other by the " +
    "hidden true quality. Rows give answered share (answers) / attempts per answer / mean quality:",
    "",
    "| 429s | quality | λ meeting all three targets | best quality that meets the answered and attempts targets | fewest attempts that keep the quality lead |",
    "|---|---|---|---|---|",
    ...rows,
    "",
    verdict,
    "",
  ];
}

function section(busyModel: BusyModel, title: string, text: string): string[] {
  const main = run(seed, busyModel);
  const others = extraSeeds.map((s) => ({ seed: s, ...run(s, busyModel) }));
  console.error(
    `${title}: ${
      (main.ms / 1000).toFixed(1)
    } s of wall clock for ${main.requests} requests × ${STRATEGIES.length} strategies`,
  );
  return [
    `## ${title}`,
    "",
    text,
    "",
    table(main.summaries),
    "",
    "Unanswered requests by reason, and answered share / mean quality by need:",
    "",
    details(main.summaries),
    "",
    "Attempts by the true quality of the model tried, and the share of them that failed " +
    "(attempts per answer come to about 1 / (1 − the failed share)):",
    "",
    bands(main.summaries),
    "",
    "Failed attempts per answer, by cause; with the answer's own attempt they add up to attempts per answer. " +
    "A perfect memory could have avoided some of them once the model was chosen: an upstream 429 in a busy " +
    "period an earlier attempt had already met (with independent draws, no 429 says anything of the next), " +
    "and the models' per-minute and per-day capacity, which OpenRouter states only in a 429. The last column " +
    "keeps each strategy's choice of models and drops those:",
    "",
    causes(main.summaries),
    "",
    floor(main.summaries),
    "",
    "Targets (seed " + seed + "):",
    "",
    ...checks(main.summaries).map((c) =>
      `- ${c.met ? "Met" : "**Missed**"}: ${c.target} (${c.numbers}).`
    ),
    "",
    tradeOff(main.summaries),
    "",
    ...(busyModel === "independent" ? bound(main.summaries) : []),
    "Other seeds:",
    "",
    "| seed | strategy | answered | attempts / answer | p50 | p95 | mean quality | switches |",
    "|---:|---|---:|---:|---:|---:|---:|---:|",
    ...others.flatMap((r) =>
      r.summaries.map((s) =>
        `| ${r.seed} | ${s.strategy} | ${
          (100 * s.answered / s.requests).toFixed(1)
        } % | ${s.attemptsPerAnswer.toFixed(3)} | ${s.p50s.toFixed(1)} s | ${
          s.p95s.toFixed(1)
        } s | ${s.meanQuality.toFixed(2)} | ${
          (100 * s.switchRate).toFixed(1)
        } % |`
      )
    ),
    "",
    ...others.map((r) =>
      `- Seed ${r.seed}: ${
        checks(r.summaries).map((c) =>
          `${c.met ? "met" : "MISSED"}: ${c.target}`
        ).join("; ")
      }.`
    ),
    "",
  ];
}

/** The simulated pool as `quality` ranks it, with each score's source and the hidden truth. */
function rankingTable(): string[] {
  const models = simulatedPool();
  const pool = buildFreePool(models.map((m) => m.row));
  const scores = qualityScores(pool, "intelligence");
  const truth = new Map(
    models.map((m) => [m.row.id as string, m.behaviour.quality]),
  );
  return [
    "| rank | model | score | source | true quality |",
    "|---:|---|---:|---|---:|",
    ...baseOrder(pool, "quality").map((m, i) => {
      const s = scores.get(m.id)!;
      return `| ${i + 1} | ${m.id} | ${s.score.toFixed(1)} | ${s.source} | ${
        truth.get(m.id)
      } |`;
    }),
  ];
}

const traffic = makeTraffic(trafficOptions(seed));
const turns = traffic.conversations.reduce((n, c) => n + c.turns, 0);
const mix = ["plain", "tools", "long", "images"].map((n) =>
  `${n} ${traffic.conversations.filter((c) => c.need === n).length}`
).join(", ");
const paid = traffic.accounts.filter((a) => a.rpd === 1000).length;
const models = simulatedPool();
const listed = models.filter((m) => "benchmarks" in m.row).length;

const lines = [
  "# Routing benchmark",
  "",
  "`deno task bench:routing` (bench/routing.ts) simulates one UTC day of traffic through freerouter's attempt",
  "loop in virtual time and compares the strategies on the same seeded traffic and the same dice: each",
  "(request, model) pair meets the same luck whichever strategy sent the request there. The ordering is",
  "freerouter's own code (`buildFreePool`, `poolFor` with its caches and health demotion, `orderCandidates`),",
  "as are failure classification, health, cooldown merging, the account limiter and the default settings",
  "(MAX_ATTEMPTS, FREEROUTER_RPM, FREEROUTER_MAX_WAIT, COOLDOWN_SECONDS, REQUEST_TIMEOUT). What is simulated:",
  "OpenRouter (bench/routing/upstream.ts), the pool (pool.ts), the traffic (traffic.ts) and the loop of",
  "`Router.#route` (sim.ts).",
  "",
  `## Setup (seed ${seed})`,
  "",
  `- ${traffic.conversations.length} conversations of 1–20 turns (${turns} requests), all asking for \`auto\`: ${mix}.`,
  "  Agents (tools) send their next turn 2–15 s after an answer, people 15–180 s; prompts grow each turn;",
  "  long-context conversations start at 40k–180k tokens; image conversations need image input. A turn",
  "  that gets no answer is not retried: the conversation goes on.",
  `- ${traffic.accounts.length} OpenRouter accounts (keys) share one proxy: ${paid} with 1,000 free requests a day,`,
  `  ${
    traffic.accounts.length - paid
  } with 50; 20 a minute each (freerouter's limiter waits up to 30 s). Failed attempts count.`,
  "  Some accounts send far more than their day allows, so about a third of all requests meet the daily",
  "  cap whatever the strategy: fewer attempts per answer leave more of the quota for answers.",
  `- ${models.length} simulated free models (bench/routing/pool.ts): ${listed} list Artificial Analysis indices in the`,
  `  catalog (one lists only coding and agentic), ${
    models.length - listed
  } list none; each has a hidden true quality, a median time`,
  "  to first token, a transient failure rate (30 % of failures are 60 s timeouts), a shared per-minute",
  "  capacity (then `limit_rpm` 429s with a reset hint and, as OpenRouter's do, the limit in",
  "  `X-RateLimit-Limit`, which freerouter learns), for two a per-day one, and upstream 429s",
  '  ("Provider returned error", no hint: freerouter cools the model down for COOLDOWN_SECONDS) that',
  "  peak with the traffic in the afternoon and hit the popular (strong) models most.",
  "- `quality`, `priority`, `adaptive`: freerouter's strategies with its defaults, conversation affinity",
  "  included (a conversation's next turn goes first to the model that answered its last one, when that",
  "  model fits and is not cooling down).",
  "- `random`: a uniformly random order of the pool per request, through the same capability fit,",
  "  cooldowns and fallback (what `openrouter/free` picks, with freerouter's fallback around it; no",
  "  affinity).",
  "- Mean quality is the answering model's true intelligence index (for models without catalog data,",
  "  the hidden value the ranking has to estimate).",
  "",
  "How `quality` ranks the simulated pool (before any health data):",
  "",
  ...rankingTable(),
  "",
  ...SCENARIOS.flatMap((s) => section(s.busyModel, s.title, s.text)),
  ...penaltySweep("periods"),
  ...informed(),
];

const text = lines.join("\n");
console.log(text);
if (out !== "-") await Deno.writeTextFile(out, text);
