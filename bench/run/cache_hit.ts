/**
 * A response-cache hit's latency (bench/cache_hit.ts), run against the src/
 * of the freerouter under test: in-process and over loopback HTTP.
 *
 * @module
 */
import { BENCH_DIR, DENO } from "./options.ts";
import { pinned, run, SERVER_CPU } from "./processes.ts";

/** p50 and p99 in ms over `n` sequential hits. */
export interface HitLatency {
  p50: number;
  p99: number;
  n: number;
}

/** The two measures, or why there are none. */
export type CacheHitResult =
  | { inProcess: HitLatency; http: HitLatency }
  | { skipped: string };

/** Runs bench/cache_hit.ts against `root`'s src/ (a copy with its imports pointed there). */
export async function cacheHitLatency(
  root: string,
  pin: boolean,
  tmp: string,
): Promise<CacheHitResult> {
  const source = (await Deno.readTextFile(`${BENCH_DIR}cache_hit.ts`))
    .replaceAll('from "../src/', `from "file://${root}/src/`)
    .replaceAll('from "./', `from "file://${BENCH_DIR}`);
  const file = `${tmp}/cache_hit.ts`;
  await Deno.writeTextFile(file, source);
  const { cmd, args } = pinned(pin, SERVER_CPU, DENO, [
    "run",
    "--allow-net",
    "--allow-env",
    "--allow-read",
    "--no-check",
    "--config",
    `${root}/deno.json`,
    file,
  ]);
  const out = await run(cmd, args, { cwd: root });
  return JSON.parse(out.trim().split("\n").at(-1)!) as CacheHitResult;
}
