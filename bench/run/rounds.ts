/**
 * The measured rounds, interleaved: each round runs every phase (sequential
 * c=1, 500 req/s, c=32 throughput, streaming) on every target, and the order
 * of the targets rotates each round; then freerouter's agent fronts
 * (fronts.ts).
 *
 * @module
 */
import { frontRound } from "./fronts.ts";
import type { Bench } from "./phases.ts";
import { cpuMs } from "./processes.ts";
import {
  check,
  COLD_THROUGHPUT,
  record,
  type Samples,
  WARM_SECONDS,
} from "./samples.ts";

/** Runs `o.rounds` rounds; one value per round of every metric and target. */
export async function runRounds(bench: Bench): Promise<Samples> {
  const { o, load, servers, failures } = bench;
  const { targets, validating, mock } = servers;
  const samples: Samples = new Map();
  const s = o.seconds;
  for (let round = 0; round < o.rounds; round++) {
    const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
    const throughputOrder = [...targets, validating].map((_, i, all) =>
      all[(i + round) % all.length]!
    );
    console.error(
      `bench: round ${round + 1}/${o.rounds} (${
        order.map((t) => t.name).join(", ")
      })`,
    );
    for (const t of order) {
      const seq = await load.wrk(t.url, 1, s);
      check(
        failures,
        t,
        `sequential round ${round + 1}`,
        seq.errors + seq.non2xx,
      );
      record(samples, "sequential c=1 p50", t.name, seq.p50_us / 1000);
      record(samples, "sequential c=1 p99", t.name, seq.p99_us / 1000);
    }
    for (const t of order) {
      const r = await load.client(["rate", t.url, "500", String(s)]);
      check(failures, t, `500 req/s round ${round + 1}`, r.errors);
      record(samples, "500 req/s p50", t.name, r.p50_ms);
      record(samples, "500 req/s p99", t.name, r.p99_ms);
      record(samples, "(pacer lateness p99)", t.name, r.late_p99_ms);
    }
    for (const t of throughputOrder) {
      // Each target has sat idle while the others ran. Max throughput is a
      // steady-state figure, so the same load runs first, unmeasured but
      // recorded apart: after an idle gap V8 may have shrunk the heap and
      // dropped optimised code, and the first seconds of load run cold.
      const warm = await load.wrk(t.url, 32, WARM_SECONDS);
      check(
        failures,
        t,
        `c=32 warm-up round ${round + 1}`,
        warm.errors + warm.non2xx,
      );
      record(
        samples,
        COLD_THROUGHPUT,
        t.name,
        warm.requests / (warm.duration_us / 1e6),
      );
      const cpu0 = cpuMs(t.pid);
      const mock0 = cpuMs(mock.pid);
      const c = await load.wrk(t.url, 32, s);
      const used = cpuMs(t.pid) - cpu0;
      // For the proxies, the CPU of the proxy process alone; for the floor,
      // the mock's.
      record(
        samples,
        "CPU per request at c=32",
        t.name,
        1000 * used / c.requests,
      );
      if (t.name !== "floor") {
        record(
          samples,
          "(mock CPU per request at c=32)",
          t.name,
          1000 * (cpuMs(mock.pid) - mock0) / c.requests,
        );
      }
      check(failures, t, `c=32 round ${round + 1}`, c.errors + c.non2xx);
      record(samples, "c=32 p50", t.name, c.p50_us / 1000);
      record(samples, "c=32 p99", t.name, c.p99_us / 1000);
      record(
        samples,
        "max throughput (c=32)",
        t.name,
        c.requests / (c.duration_us / 1e6),
      );
    }
    for (const t of order) {
      const st = await load.client(["stream", t.url, o.quick ? "100" : "300"]);
      check(failures, t, `stream round ${round + 1}`, st.errors, st.stalls);
      record(samples, "stream TTFB p50", t.name, st.ttfb_p50_ms);
      record(samples, "stream TTFB p99", t.name, st.ttfb_p99_ms);
      record(samples, "stream TTLB p50", t.name, st.ttlb_p50_ms);
      record(samples, "stream TTLB p99", t.name, st.ttlb_p99_ms);
    }
    // freerouter's /v1/messages and /v1/responses next to its chat completions.
    await frontRound(bench, round, samples);
  }
  return samples;
}
