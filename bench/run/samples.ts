/**
 * What a bench run measures: the targets, the metrics, the samples (one value
 * per round) and the failures, and the records of the memory phases.
 *
 * @module
 */

/** The targets measured in every phase. */
export type TargetName = "floor" | "passthrough" | "freerouter";
export const TARGETS: TargetName[] = ["floor", "passthrough", "freerouter"];
/**
 * The targets measured in every phase, and the minimal validating proxy
 * (bench/validating_proxy.ts), measured in the throughput phase only: the
 * ceiling for a proxy doing freerouter's work.
 */
export type SampleTarget = TargetName | "validating";
export const LABEL: Record<SampleTarget, string> = {
  floor: "floor (mock, direct)",
  passthrough: "Deno pass-through",
  validating: "minimal validating proxy",
  freerouter: "freerouter",
};

export const ALL_TARGETS: SampleTarget[] = [
  "floor",
  "passthrough",
  "validating",
  "freerouter",
];

/** A process under measurement and the URL its clients post to. */
export interface Target<Name extends SampleTarget = TargetName> {
  name: Name;
  url: string;
  pid: number;
}

/** Metric name → target → one value per round. */
export type Samples = Map<string, Record<SampleTarget, number[]>>;

/** Adds one round's value of a metric for a target. */
export function record(
  samples: Samples,
  metric: string,
  target: SampleTarget,
  v: number,
) {
  let m = samples.get(metric);
  if (!m) {
    samples.set(
      metric,
      m = { floor: [], passthrough: [], validating: [], freerouter: [] },
    );
  }
  m[target].push(v);
}

/** Metric definitions: unit, and whether higher is better. */
export const METRICS: Record<string, { unit: string; higher?: boolean }> = {
  "sequential c=1 p50": { unit: "ms" },
  "sequential c=1 p99": { unit: "ms" },
  "500 req/s p50": { unit: "ms" },
  "500 req/s p99": { unit: "ms" },
  "c=32 p50": { unit: "ms" },
  "c=32 p99": { unit: "ms" },
  "max throughput (c=32)": { unit: "req/s", higher: true },
  "CPU per request at c=32": { unit: "µs" },
  "stream TTFB p50": { unit: "ms" },
  "stream TTFB p99": { unit: "ms" },
  "stream TTLB p50": { unit: "ms" },
  "stream TTLB p99": { unit: "ms" },
};

/** Seconds of unmeasured c=32 load before each measured throughput phase. */
export const WARM_SECONDS = 2;
/** The metric of those warm-up seconds: throughput right after an idle gap. */
export const COLD_THROUGHPUT =
  `(c=32 throughput, first ${WARM_SECONDS} s after an idle gap)`;

/** Failed or stalled requests, by target, one line per phase. */
export type Failures = Record<SampleTarget, string[]>;

/** No failures yet. */
export function noFailures(): Failures {
  return { floor: [], passthrough: [], validating: [], freerouter: [] };
}

/** Notes a phase's failed (and stalled) requests for a target, if any. */
export function check(
  failures: Failures,
  t: Target<SampleTarget>,
  what: string,
  errors: number,
  stalls = 0,
) {
  if (errors > 0) {
    failures[t.name].push(
      `${what}: ${errors} failed${stalls ? ` (${stalls} stalled)` : ""}`,
    );
  }
}

/** One 50 MB stream, as bench/client.ts `big` reports it. */
export interface BigRun {
  status: number;
  bytes: number;
  mb_per_s: number;
  stalled: boolean;
  complete: boolean;
}

/** A target's two 50 MB streams. */
export interface BigResult {
  before: number;
  /** Max RSS during the first stream. */
  max: number;
  /** Max RSS over both streams. */
  max2: number;
  mbps: number;
  bytes: number;
  stalled: boolean;
  ok: boolean;
}

/** A target holding 500 open streams. */
export interface HeldResult {
  rss: number;
  open: number;
  complete: number;
  openMs: number;
}

/** RSS (or VmHWM) in MB of each target's process. */
export type Memory = Record<TargetName, number>;
