/**
 * The hot path micro-benchmarks (bench/hot_path_bench.ts, `deno bench`), run
 * against the src/ of the freerouter under test.
 *
 * @module
 */
import { BENCH_DIR, DENO } from "./options.ts";
import { pinned, run, SERVER_CPU } from "./processes.ts";

/** One micro-benchmark's average, p75 and p99, in ns. */
export interface MicroResult {
  name: string;
  avgNs: number;
  p75Ns: number;
  p99Ns: number;
}

/** Runs bench/hot_path_bench.ts against `root`'s src/ (a copy with its imports pointed there). */
export async function microBenchmarks(
  root: string,
  pin: boolean,
  tmp: string,
): Promise<MicroResult[]> {
  const source = (await Deno.readTextFile(`${BENCH_DIR}hot_path_bench.ts`))
    .replaceAll('from "../src/', `from "file://${root}/src/`)
    .replaceAll('from "./', `from "file://${BENCH_DIR}`);
  const file = `${tmp}/hot_path_bench.ts`;
  await Deno.writeTextFile(file, source);
  const { cmd, args } = pinned(pin, SERVER_CPU, DENO, [
    "bench",
    "--json",
    "--no-check",
    "--config",
    `${root}/deno.json`,
    file,
  ]);
  const out = await run(cmd, args, { cwd: root });
  const json = JSON.parse(out) as {
    benches: {
      name: string;
      results: { ok?: { avg: number; p75: number; p99: number } }[];
    }[];
  };
  return json.benches.flatMap((b) => {
    const ok = b.results[0]?.ok;
    return ok
      ? [{ name: b.name, avgNs: ok.avg, p75Ns: ok.p75, p99Ns: ok.p99 }]
      : [];
  });
}
