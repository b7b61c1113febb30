/**
 * The report of a bench run, in Markdown: the machine and the setup, the
 * results side by side, the ceiling for freerouter's work, memory, the agent
 * fronts (fronts.ts), the hot path micro-benchmarks, issue 4's targets, and
 * every round's values.
 *
 * @module
 */
import { chatBody } from "../client.ts";
import { median, medianDifference, medianRatio, spread } from "../stats.ts";
import { type FrontLoad, frontsSection } from "./fronts.ts";
import type { MicroResult } from "./micro.ts";
import type { CacheHitResult } from "./cache_hit.ts";
import type { Options } from "./options.ts";
import { run } from "./processes.ts";
import {
  ALL_TARGETS,
  type BigResult,
  COLD_THROUGHPUT,
  type Failures,
  type HeldResult,
  LABEL,
  type Memory,
  METRICS,
  type Samples,
  type SampleTarget,
  type TargetName,
  TARGETS,
  WARM_SECONDS,
} from "./samples.ts";

/** Everything the report shows. */
export interface ReportInput {
  otherLoad: number;
  wallMs: number;
  o: Options;
  startedAt: Date;
  commit: string;
  /** The flags freerouter ran with (those of `deno task start`). */
  flags: string[];
  poolSize: number;
  samples: Samples;
  idle: Memory;
  idleAfter: Memory;
  peakAfterRounds: Memory;
  peak: Memory;
  big: Record<TargetName, BigResult>;
  failures: Failures;
  held: Record<TargetName, HeldResult>;
  micro: MicroResult[];
  /** A response-cache hit's latency (bench/cache_hit.ts). */
  cacheHit?: CacheHitResult;
  /** freerouter's routes measured by fronts.ts. */
  fronts: FrontLoad[];
}

/** A figure in its unit, rounded for the report; `—` when not a number. */
function fmt(v: number, unit = "ms"): string {
  if (!Number.isFinite(v)) return "—";
  if (unit === "req/s" || unit === "µs") {
    return Math.round(v).toLocaleString("en-US");
  }
  if (unit === "MB") return v.toFixed(1);
  return v < 1 ? v.toFixed(3) : v < 10 ? v.toFixed(2) : v.toFixed(1);
}

/** The cores, the CPU model and the load average. */
async function machine(): Promise<string> {
  const cpu = /model name\s*:\s*(.*)/.exec(
    await Deno.readTextFile("/proc/cpuinfo"),
  )?.[1] ?? "unknown CPU";
  const load = (await Deno.readTextFile("/proc/loadavg")).split(" ")
    .slice(0, 3).join(" ");
  return `${navigator.hardwareConcurrency} cores (${cpu}), load average at the end ${load}`;
}

/** The report as Markdown. */
export async function renderReport(r: ReportInput): Promise<string> {
  /** One target's values of a metric, one per round. */
  const series = (metric: string, t: SampleTarget) =>
    r.samples.get(metric)?.[t] ?? [];
  const med = (metric: string, t: SampleTarget) => median(series(metric, t));
  const lines: string[] = [];
  const wrkVersion = (await run("sh", ["-c", "wrk -v 2>&1 | head -1"]))
    .trim().split(" ").slice(0, 2).join(" ");
  lines.push(
    "# freerouter benchmark",
    "",
    "Written by `deno task bench` (bench/run.ts); numbers from one run. Loopback only.",
    "",
    `- Date: ${r.startedAt.toISOString()}`,
    `- Machine: ${await machine()}; other processes used ${
      (r.otherLoad * 100).toFixed(0)
    } % of a core on average during the ${
      (r.wallMs / 1000).toFixed(0)
    } s run (their noise lands in the p99s)`,
    `- Runtime: Deno ${Deno.version.deno}, V8 ${Deno.version.v8}; load generator ${wrkVersion} and Deno clients (bench/client.ts)`,
    `- freerouter: ${r.commit}${
      Object.keys(r.o.env).length
        ? ` with ${
          Object.entries(r.o.env).map(([k, v]) => `${k}=${v}`).join(" ")
        }`
        : ""
    }, run as \`deno task start\` runs it (\`${
      r.flags.join(" ")
    }\`); FREEROUTER_RPM=0 (the account limiter off, else it would hold requests to 20 a minute); catalog of 300 models, ${r.poolSize} in the free pool, 5 of them rate-limited by the mock so routing skips cooldowns; KV on disk`,
    `- Layout: ${
      r.o.pin
        ? "taskset: load generators (wrk -t1, Deno clients) on CPU 0; the mock and the process under test share CPU 1 (2 cores: a proxy's CPU time competes with the upstream's, as on a small VM)"
        : "no pinning (--no-pin)"
    }`,
    `- Rounds: ${r.o.rounds}, interleaved (target order rotates each round), ${r.o.seconds} s per load phase; figures are medians across rounds, per-round values below`,
    `- Workload: POST /v1/chat/completions, ${chatBody().length}-byte body; answers pre-serialised (${"non-stream"} ~700 B; streams of 20 content chunks + role, finish, usage, [DONE] ≈ 6.5 KB)`,
    "",
    "## Results",
    "",
    "| metric | floor (mock, direct) | Deno pass-through | freerouter | freerouter − floor | freerouter / floor | freerouter / pass-through |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const [metric, def] of Object.entries(METRICS)) {
    const f = med(metric, "floor");
    const p = med(metric, "passthrough");
    const x = med(metric, "freerouter");
    lines.push(
      `| ${metric} (${def.unit}) | ${fmt(f, def.unit)} | ${
        fmt(p, def.unit)
      } | ${fmt(x, def.unit)} | ${def.higher ? "" : fmt(x - f, def.unit)} | ${
        (x / f).toFixed(2)
      } | ${(x / p).toFixed(2)} |`,
    );
  }
  const tputOf = (t: SampleTarget) => med("max throughput (c=32)", t);
  /** A throughput over the pass-through's, paired by round (drift cancels). */
  const pairedShare = (t: SampleTarget, metric = "max throughput (c=32)") =>
    medianRatio(series(metric, t), series(metric, "passthrough"));
  const percent = (x: number) => `${(x * 100).toFixed(0)} %`;
  const shareOfPassthrough = (t: SampleTarget) =>
    percent(tputOf(t) / tputOf("passthrough"));
  const ceiling: SampleTarget[] = ["passthrough", "validating", "freerouter"];
  lines.push(
    "",
    "## The ceiling for freerouter's work (c=32)",
    "",
    `The minimal validating proxy (bench/validating_proxy.ts) does only what freerouter cannot skip for a non-streaming request: parse the body, set the model and serialise it again, send it under a timeout (an abort controller per attempt, checked by one shared timer), read and parse the whole answer to catch errors inside 200s, answer with the model used, and write one batched access-log line. No routing, cooldowns, metrics or request records. Its share of the pass-through's throughput is the most a proxy doing freerouter's job reaches here; it runs in the throughput phase only, in the same rotation. Shares are given two ways: the ratio of the medians, and the median of the ratios within each round, which the target uses (a round measures every target within seconds, so the machine's drift between rounds cancels). Each measured phase follows ${WARM_SECONDS} s of the same load, reported apart: every target sits idle while the others run, and after an idle gap V8 may have shrunk the heap and dropped optimised code, so the first seconds of load run cold.`,
    "",
    `| measure | ${ceiling.map((t) => LABEL[t]).join(" | ")} |`,
    `| --- | ${ceiling.map(() => "---:").join(" | ")} |`,
    `| max throughput (req/s) | ${
      ceiling.map((t) => fmt(tputOf(t), "req/s")).join(" | ")
    } |`,
    `| CPU per request (µs) | ${
      ceiling.map((t) => fmt(med("CPU per request at c=32", t), "µs")).join(
        " | ",
      )
    } |`,
    `| share of the pass-through's throughput (ratio of the medians) | ${
      ceiling.map(shareOfPassthrough).join(" | ")
    } |`,
    `| share, median of the per-round ratios | ${
      ceiling.map((t) => percent(pairedShare(t))).join(" | ")
    } |`,
    `| first ${WARM_SECONDS} s after an idle gap, unmeasured above (req/s) | ${
      ceiling.map((t) => fmt(med(COLD_THROUGHPUT, t), "req/s")).join(" | ")
    } |`,
    `| its share, median of the per-round ratios | ${
      ceiling.map((t) => percent(pairedShare(t, COLD_THROUGHPUT))).join(" | ")
    } |`,
  );
  const big = r.big;
  const held = r.held;
  const memRow = (label: string, get: (t: TargetName) => number) =>
    `| ${label} | ${fmt(get("floor"), "MB")} | ${
      fmt(get("passthrough"), "MB")
    } | ${fmt(get("freerouter"), "MB")} |`;
  lines.push(
    "",
    "## Memory (RSS of each process, MB; the floor column is the mock itself)",
    "",
    "| measure | mock | Deno pass-through | freerouter |",
    "| --- | ---: | ---: | ---: |",
    memRow("idle after start (catalog loaded)", (t) => r.idle[t]),
    memRow(
      "500 concurrent open streams (after a light warm-up)",
      (t) => held[t].rss,
    ),
    memRow("50 MB stream: RSS before", (t) => big[t].before),
    memRow("50 MB stream: RSS max during the first", (t) => big[t].max),
    memRow("50 MB stream: RSS max during a second one", (t) => big[t].max2),
    `| 50 MB stream: throughput (MB/s) | ${fmt(big.floor.mbps, "MB")} | ${
      fmt(big.passthrough.mbps, "MB")
    } | ${fmt(big.freerouter.mbps, "MB")} |`,
    memRow(
      "peak (VmHWM) after the latency rounds",
      (t) => r.peakAfterRounds[t],
    ),
    memRow("idle after all load", (t) => r.idleAfter[t]),
    memRow("peak (VmHWM) over the whole run", (t) => r.peak[t]),
    "",
    `500 open streams: ${
      TARGETS.map((t) =>
        `${t} ${held[t].open}/500 opened in ${fmt(held[t].openMs)} ms, ${
          held[t].complete
        } completed`
      ).join("; ")
    }. 50 MB streams: ${
      TARGETS.map((t) =>
        `${t} ${
          big[t].ok
            ? "complete"
            : `**${big[t].stalled ? "stalled" : "incomplete"} after ${
              (big[t].bytes / 1e6).toFixed(2)
            } MB**`
        }`
      ).join(", ")
    }.`,
    "",
    "Failed or stalled requests: " +
      (ALL_TARGETS.every((t) => r.failures[t].length === 0)
        ? "none."
        : ALL_TARGETS.filter((t) => r.failures[t].length > 0).map((t) =>
          `${t}: ${r.failures[t].join("; ")}`
        ).join(". ") + "."),
  );

  // freerouter's /v1/messages and /v1/responses, and their translation cost.
  lines.push(...frontsSection(r.samples, r.micro, r.fronts));

  // Micro-benchmarks.
  lines.push(
    "",
    "## Hot path micro-benchmarks (bench/hot_path_bench.ts, `deno bench`)",
    "",
    "| benchmark | avg | p99 |",
    "| --- | ---: | ---: |",
  );
  const us = (ns: number) => `${(ns / 1000).toFixed(2)} µs`;
  for (const m of r.micro) {
    lines.push(`| ${m.name} | ${us(m.avgNs)} | ${us(m.p99Ns)} |`);
  }

  // Targets.
  // Differences and ratios are paired by round: each round measures every
  // target within seconds, so the machine's drift between rounds cancels.
  const overhead = (metric: string, base: SampleTarget) =>
    medianDifference(series(metric, "freerouter"), series(metric, base));
  const seqP50 = overhead("sequential c=1 p50", "floor");
  const seqP99 = overhead("sequential c=1 p99", "floor");
  const tput = pairedShare("freerouter");
  const rateP99 = overhead("500 req/s p99", "passthrough");
  const ttfb = overhead("stream TTFB p50", "passthrough");
  const bigGrowth = big.freerouter.max2 - big.freerouter.max;
  const ordering = r.micro.filter((m) => m.name.startsWith("orderCandidates"))
    .filter((m) => !m.name.includes("worst case"));
  const orderingMax = Math.max(...ordering.map((m) => m.avgNs)) / 1000;
  const targets: [string, string, string, boolean][] = [
    [
      "sequential overhead over the floor, p50",
      `${fmt(seqP50)} ms`,
      "≤ 0.3 ms",
      seqP50 <= 0.3,
    ],
    [
      "sequential overhead over the floor, p99",
      `${fmt(seqP99)} ms`,
      "≤ 1 ms",
      seqP99 <= 1,
    ],
    [
      "throughput vs pass-through (c=32), median of per-round ratios",
      `${percent(tput)} (ratio of the medians: ${
        shareOfPassthrough("freerouter")
      }; minimal validating proxy: ${percent(pairedShare("validating"))})`,
      "≥ 85 %",
      tput >= 0.85,
    ],
    [
      "p99 at 500 req/s vs pass-through",
      `${rateP99 >= 0 ? "+" : ""}${fmt(rateP99)} ms`,
      "≤ +1 ms",
      rateP99 <= 1,
    ],
    [
      "stream TTFB p50 vs pass-through",
      `${ttfb >= 0 ? "+" : ""}${fmt(ttfb)} ms`,
      "≤ +1 ms",
      ttfb <= 1,
    ],
    [
      "50 MB stream, flat RSS: growth during a second 50 MB stream",
      big.freerouter.ok
        ? `${fmt(bigGrowth, "MB")} MB (first: ${
          fmt(big.freerouter.max - big.freerouter.before, "MB")
        } MB)`
        : `stalled after ${(big.freerouter.bytes / 1e6).toFixed(2)} MB`,
      "≤ 5 MB",
      bigGrowth <= 5 && big.freerouter.ok,
    ],
    [
      "RSS idle",
      `${fmt(r.idle.freerouter, "MB")} MB (after load: ${
        fmt(r.idleAfter.freerouter, "MB")
      } MB)`,
      "< 80 MB",
      r.idle.freerouter < 80,
    ],
    [
      "RSS with 500 open streams",
      `${fmt(held.freerouter.rss, "MB")} MB`,
      "< 150 MB",
      held.freerouter.rss < 150 && held.freerouter.complete === 500,
    ],
    [
      "candidate ordering, 300-model pool",
      `${orderingMax.toFixed(2)} µs`,
      "< 20 µs",
      orderingMax < 20,
    ],
  ];
  const hit = r.cacheHit;
  if (hit && "http" in hit) {
    targets.push([
      "response-cache hit over loopback HTTP, p50 (issue 25)",
      `${fmt(hit.http.p50)} ms (p99 ${fmt(hit.http.p99)} ms; in-process p50 ${
        fmt(hit.inProcess.p50)
      } ms, p99 ${fmt(hit.inProcess.p99)} ms; ${hit.http.n} hits)`,
      "< 1 ms",
      hit.http.p50 < 1,
    ]);
  }
  lines.push(
    "",
    "## Targets (issue 4)",
    "",
    "Overheads and the throughput share here are medians of the per-round differences and ratios (each round measures every target within seconds, so drift between rounds cancels); the results table above compares each target's own medians.",
    "",
    "| target | measured | limit | met |",
    "| --- | ---: | ---: | :---: |",
    ...targets.map(([name, v, limit, ok]) =>
      `| ${name} | ${v} | ${limit} | ${ok ? "yes" : "**no**"} |`
    ),
  );

  // Per-round values.
  lines.push(
    "",
    "## Per-round values (drift and spread)",
    "",
    "| metric | target | rounds | min–max |",
    "| --- | --- | --- | --- |",
  );
  for (const [metric, byTarget] of r.samples) {
    const unit = METRICS[metric]?.unit ??
      (metric.includes("CPU")
        ? "µs"
        : metric.includes("throughput")
        ? "req/s"
        : "ms");
    for (const t of ALL_TARGETS) {
      const v = byTarget[t];
      if (v.length === 0) continue;
      const [lo, hi] = spread(v);
      lines.push(
        `| ${metric} | ${LABEL[t]} | ${
          v.map((x) => fmt(x, unit)).join(", ")
        } | ${fmt(lo, unit)}–${fmt(hi, unit)} |`,
      );
    }
  }
  lines.push(
    "",
    "Notes: wrk measures sequential (one connection) and c=32 (closed loop, also the throughput figure: more connections did not raise it on this machine). The fixed-rate client is open-loop: a worker thread keeps the schedule and latency counts from each request's due time (coordinated omission corrected); `(pacer lateness p99)` is the client's own scheduling delay, part of every figure in that row. TTFB/TTLB: sequential streaming requests, time to the first body byte and to the end. Memory: the 500 open streams (the mock holds each after its first event) and the 50 MB streams (1 KiB events, read as fast as the client can) run after a light warm-up, before the throughput rounds; the flat-RSS check streams 50 MB twice and takes the growth during the second, where memory that scales with the bytes would show. CPU per request: the process's user + system time (/proc/<pid>/stat) over the c=32 phase divided by the requests served; it is the least sensitive figure to other load on the machine. All targets run the same clients against the same mock in the same run.",
    "",
  );
  return lines.join("\n");
}
