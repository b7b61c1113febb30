/**
 * The load test's verdict: the pass conditions, the markdown table of
 * figures, and one PASS/FAIL line per condition.
 *
 * @module
 */

import type { ClientStats } from "./clients.ts";
import type { FakeStats } from "./fake_upstream.ts";
import type { Reduction } from "./gc_log.ts";
import type { Options } from "./options.ts";
import {
  MAX_ATTEMPTS,
  MAX_HEAP_GROWTH,
  MAX_RSS_GROWTH,
  P_429,
  P_HANG,
  REDUCER_TIMEOUT_MS,
  REQUEST_TIMEOUT_S,
} from "./settings.ts";

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** KiB as MiB, for the table and the progress lines. */
export const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
const ms = (v: number) => `${Math.round(v)} ms`;
const pct = (a: number, b: number) =>
  `${a / b >= 1 ? "+" : ""}${((a / b - 1) * 100).toFixed(1)} %`;

/** What is read once a load (the warm-up or a round) is over. */
export interface Reading {
  requests: number;
  /** KiB. */
  rss: number;
  /** The reducer's last collection, if it ran. */
  heap?: Reduction;
  /** Seconds from the end of the load to that collection. */
  reducedAfter: number;
}

/** What a run leaves to judge, read once freerouter has stopped. */
export interface Outcome {
  options: Options;
  warmup: Reading;
  rounds: Reading[];
  /** The clients' figures over the rounds. */
  stats: ClientStats;
  /** The fake's counters over all loads. */
  fake: FakeStats;
  /** Seconds for the rounds, with the pauses between them. */
  wallSeconds: number;
  /** RSS after startup, KiB. */
  rssIdle: number;
  /** RSS at its highest under load, KiB. */
  peak: number;
  /** Whether freerouter was still running when the rounds were over. */
  alive: boolean;
  exit: Deno.CommandStatus;
  /** Chunks of freerouter's stderr that named an uncaught error. */
  uncaught: number;
  /** freerouter's stderr (its first MB). */
  stderr: string;
  /** Unhandled rejections in this process. */
  ownRejections: number;
}

/**
 * Prints the table and the conditions, and returns the exit code: 0 when
 * every condition passes, 1 otherwise.
 */
export function report(outcome: Outcome): number {
  const {
    options,
    warmup,
    rounds,
    stats,
    fake,
    wallSeconds,
    rssIdle,
    peak,
    alive,
    exit,
  } = outcome;
  // The fake's log, grouped by request.
  let maxPerRequest = 0;
  let overMax = 0;
  for (const [marker, n] of fake.perRequest) {
    if (!marker.startsWith("round")) continue;
    maxPerRequest = Math.max(maxPerRequest, n);
    if (n > MAX_ATTEMPTS) overMax++;
  }
  const answered = stats.ok + [...stats.errors.values()].reduce(
    (a, b) => a + b,
    0,
  ) + stats.aborted;
  const second = rounds[1]?.rss ?? NaN;
  const last = rounds.length === options.rounds ? rounds.at(-1)!.rss : NaN;
  const heapBefore = warmup.heap?.used ?? NaN;
  const heapAfter = rounds.at(-1)?.heap?.used ?? NaN;
  const uncollected = [warmup, ...rounds].filter((r) => !r.heap).length;
  const checks: Array<[string, boolean, string]> = [
    [
      "every request answered (success or OpenAI-shaped error)",
      stats.unanswered === 0 && stats.bad === 0 &&
      answered === stats.total,
      `${answered} of ${stats.total}; unanswered ${stats.unanswered}, bad ${stats.bad}`,
    ],
    [
      `no request beyond MAX_ATTEMPTS=${MAX_ATTEMPTS} (fake's log)`,
      overMax === 0 && maxPerRequest <= MAX_ATTEMPTS &&
      stats.maxAttemptsHeader <= MAX_ATTEMPTS,
      `max ${maxPerRequest} per request, ${overMax} over`,
    ],
    [
      "no unhandled rejection, clean exit",
      alive && outcome.uncaught === 0 &&
      !/Uncaught|unhandled/i.test(outcome.stderr) && exit.code === 0 &&
      outcome.ownRejections === 0,
      `alive ${alive}, exit ${exit.code}${
        exit.signal ? ` (${exit.signal})` : ""
      }, uncaught ${outcome.uncaught}, own ${outcome.ownRejections}`,
    ],
    [
      `no growth: RSS after round ${options.rounds} ≤ ${MAX_RSS_GROWTH} × RSS after round 2`,
      // Read once V8 has collected, or the figures say nothing of a leak.
      last <= second * MAX_RSS_GROWTH && rounds[1]?.heap !== undefined &&
      rounds.at(-1)?.heap !== undefined,
      `${mib(last)} vs ${mib(second)} (${pct(last, second)})${
        rounds[1]?.heap && rounds.at(-1)?.heap
          ? ""
          : "; read without V8's collection (see the table)"
      }`,
    ],
    [
      `V8 heap after a collection ≤ ${MAX_HEAP_GROWTH} × its size after the warm-up`,
      heapAfter <= heapBefore * MAX_HEAP_GROWTH,
      `${heapAfter.toFixed(1)} MB vs ${heapBefore.toFixed(1)} MB (${
        pct(heapAfter, heapBefore)
      })${
        uncollected > 0
          ? `; the reducer did not run within ${
            REDUCER_TIMEOUT_MS / 1000
          } s after ${uncollected} load(s)`
          : ""
      }`,
    ],
  ];

  const errorList = [...stats.errors].sort().map(([k, v]) => `${k}: ${v}`)
    .join(", ") || "none";
  const loadSeconds = rounds.length * options.seconds;
  const reading = (r: Reading): string =>
    `${mib(r.rss)}; heap ${
      r.heap
        ? `${r.heap.used.toFixed(1)} MB (${
          r.heap.committed.toFixed(1)
        } MB held), ${r.reducedAfter.toFixed(1)} s after the load`
        : "not collected"
    }; ${r.requests} requests`;
  const rows: Array<[string, string]> = [
    [
      "Clients / load",
      `${options.clients} concurrent; a warm-up and ${rounds.length} rounds of ${options.seconds} s (${
        wallSeconds.toFixed(0)
      } s for the rounds with the pauses)`,
    ],
    [
      "Upstream faults",
      `${P_429 * 100} % 429 (per model, reset hint), ${
        P_HANG * 100
      } % hang; REQUEST_TIMEOUT=${REQUEST_TIMEOUT_S}, MAX_ATTEMPTS=${MAX_ATTEMPTS}`,
    ],
    [
      "Requests in the rounds",
      `${stats.total} (${
        (stats.total / loadSeconds).toFixed(0)
      }/s under load), half streaming`,
    ],
    ["Successes", `${stats.ok} (${stats.okStream} streamed)`],
    ["Proper errors", errorList],
    ["Aborted mid-stream by the client", String(stats.aborted)],
    ["Unanswered / malformed", `${stats.unanswered} / ${stats.bad}`],
    [
      "Latency to headers p50 / p99",
      `${ms(percentile(stats.headerLatency, 0.5))} / ${
        ms(percentile(stats.headerLatency, 0.99))
      }`,
    ],
    [
      "Latency to last byte p50 / p99",
      `${ms(percentile(stats.totalLatency, 0.5))} / ${
        ms(percentile(stats.totalLatency, 0.99))
      }`,
    ],
    [
      "Upstream attempts (all loads)",
      `${fake.attempts} (${fake.ok} ok, ${fake.rateLimited} 429, ${fake.hung} hung)`,
    ],
    [
      "Attempts per request, max (fake's log)",
      `${maxPerRequest} (${overMax} over ${MAX_ATTEMPTS})`,
    ],
    ["RSS after startup / peak under load", `${mib(rssIdle)} / ${mib(peak)}`],
    ["After the warm-up", reading(warmup)],
    ...rounds.map((r, i): [string, string] => [
      `After round ${i + 1}`,
      reading(r),
    ]),
  ];
  console.log(
    [
      "| Load test | Result |",
      "| --- | --- |",
      ...rows.map(([k, v]) => `| ${k} | ${v} |`),
      "",
      ...checks.map(([name, pass, detail]) =>
        `${pass ? "PASS" : "FAIL"}: ${name}: ${detail}`
      ),
    ].join("\n"),
  );
  if (stats.badSamples.length > 0) {
    console.error(`\nMalformed answers (first ${stats.badSamples.length}):`);
    for (const s of stats.badSamples) console.error(`  ${s}`);
  }
  const failed = checks.filter(([, pass]) => !pass).length;
  console.log(
    failed === 0
      ? "loadtest: PASS"
      : `loadtest: FAIL (${failed} of ${checks.length})`,
  );
  return failed === 0 ? 0 : 1;
}
