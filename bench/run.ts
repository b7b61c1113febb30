/**
 * `deno task bench`: freerouter's latency, throughput and memory against the
 * floor (the mock, direct) and a minimal Deno pass-through proxy, side by side
 * in one run, interleaved over several rounds; loopback only, a few minutes.
 * The throughput rounds also measure a minimal validating proxy
 * (bench/validating_proxy.ts): the ceiling for a proxy doing freerouter's work.
 * Each round also streams through freerouter's `/v1/messages` and
 * `/v1/responses` next to its `/v1/chat/completions` (bench/run/fronts.ts).
 *
 * ```sh
 * deno task bench                 # full run, writes bench/results.md
 * deno task bench --quick         # 1 round, shorter phases, no results.md
 * deno task bench --ref HEAD      # benchmark a commit (git archive) instead of the work tree
 * deno task bench --tree DIR      # benchmark another copy of the project (e.g. a patched one)
 * deno task bench --profile       # only CPU-profile freerouter under load and print the hot spots
 * deno task bench --env LOG_LEVEL=warn   # extra environment for freerouter (repeatable)
 * ```
 *
 * Options: `--rounds N` (default 5), `--seconds S` per load phase (default 3),
 * `--no-pin` (don't pin with taskset), `--out FILE` (default
 * bench/results.md; `--out -` writes none), `--ref REF`, `--tree DIR`,
 * `--env KEY=VALUE`, `--profile`, `--quick`, `--help`.
 *
 * @module
 */
import { chatBody } from "./client.ts";
import { frontLoads, warmFronts } from "./run/fronts.ts";
import { ensureWrk, loadGenerators, wrkScript } from "./run/load.ts";
import { microBenchmarks } from "./run/micro.ts";
import { cacheHitLatency } from "./run/cache_hit.ts";
import { DENO, type Options, parseArgs, REPO, USAGE } from "./run/options.ts";
import {
  type Bench,
  bigStreams,
  memoryAfterLoad,
  openStreams,
  warmThroughput,
  warmUp,
} from "./run/phases.ts";
import { cpuSnapshot, run, type Server, stop } from "./run/processes.ts";
import { profile } from "./run/profile.ts";
import { renderReport } from "./run/report.ts";
import { runRounds } from "./run/rounds.ts";
import { noFailures } from "./run/samples.ts";
import { startServers, underTest } from "./run/setup.ts";

export { type Options, parseArgs, USAGE };

async function main(o: Options) {
  const startedAt = new Date();
  const cpuAtStart = cpuSnapshot();
  const wrk = await ensureWrk();
  const tmp = await Deno.makeTempDir({ prefix: "freerouter-bench-" });
  const servers: Server[] = [];
  try {
    // 1. The freerouter under test (the work tree, or a commit's tree), the
    // mock upstream, the pass-through and validating proxies, and freerouter.
    const { root, commit } = await underTest(o, tmp);
    const started = await startServers(o, root, tmp, servers);
    const script = `${tmp}/post.lua`;
    await Deno.writeTextFile(script, wrkScript(chatBody()));
    const bench: Bench = {
      o,
      load: loadGenerators(o.pin, wrk, script),
      servers: started,
      failures: noFailures(),
      fronts: await frontLoads(
        started.targets.find((t) => t.name === "freerouter")!.url,
        tmp,
      ),
    };

    // 2. Warm-up. 3. Streaming memory, on processes that have only been
    // warmed up (their RSS after the throughput rounds is reported
    // separately). Then the warm-up at c=32.
    await warmUp(bench);
    const held = await openStreams(bench);
    const big = await bigStreams(bench);
    await warmThroughput(bench);
    await warmFronts(bench);

    if (o.profile) {
      await profile(bench, servers);
      return;
    }

    // 4. Interleaved rounds; the order of the targets rotates each round.
    const samples = await runRounds(bench);

    // 5. Memory after the load.
    const memoryAfter = await memoryAfterLoad(bench);

    // 6. Micro-benchmarks of the hot path.
    console.error("bench: Deno.bench micro-benchmarks …");
    const micro = await microBenchmarks(root, o.pin, tmp);
    console.error("bench: response-cache hit latency …");
    const cacheHit = await cacheHitLatency(root, o.pin, tmp);

    for (const server of servers.splice(0)) await stop(server);
    // CPU that other processes used meanwhile: the machine's busy time less
    // ours and our children's (all waited for by now).
    const cpuAtEnd = cpuSnapshot();
    const wallMs = Date.now() - startedAt.getTime();
    const otherLoad = Math.max(
      0,
      (cpuAtEnd.machine - cpuAtStart.machine -
        (cpuAtEnd.ours - cpuAtStart.ours)) / wallMs,
    );
    const report = await renderReport({
      otherLoad,
      wallMs,
      o,
      startedAt,
      commit,
      flags: started.flags,
      poolSize: started.poolSize,
      samples,
      idle: started.idle,
      ...memoryAfter,
      big,
      held,
      micro,
      cacheHit,
      failures: bench.failures,
      fronts: bench.fronts,
    });
    console.log(report);
    if (o.out) {
      await Deno.writeTextFile(o.out, report);
      // Keep it as `deno fmt` (and so CI's `deno fmt --check`) wants it.
      await run(DENO, ["fmt", "--quiet", o.out]);
      console.error(`bench: wrote ${o.out.replace(`${REPO}/`, "")}`);
    }
  } finally {
    for (const server of servers) await stop(server);
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  let parsed: Options | "help";
  try {
    parsed = parseArgs(Deno.args);
  } catch (err) {
    console.error(`bench: ${(err as Error).message}\n${USAGE}`);
    Deno.exit(2);
  }
  if (parsed === "help") console.log(USAGE);
  else await main(parsed);
}
