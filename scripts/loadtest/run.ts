/**
 * One load test run: the fake upstream and freerouter started, a warm-up and
 * the rounds of load, each followed by a reading once the load has drained
 * and V8 has collected, then freerouter stopped and the outcome reported.
 *
 * @module
 */

import { type ClientStats, drive, merge, newStats } from "./clients.ts";
import { startFake } from "./fake_upstream.ts";
import { rssKiB, startFreerouter } from "./freerouter.ts";
import type { Options } from "./options.ts";
import { mib, type Reading, report } from "./report.ts";
import {
  CLIENT_TIMEOUT_MS,
  MAX_ATTEMPTS,
  REQUEST_TIMEOUT_S,
  sleep,
} from "./settings.ts";

/**
 * Runs the load test with `options` and prints its report; resolves to the
 * exit code: 0 when every condition passes, 1 otherwise.
 */
export async function main(options: Options): Promise<number> {
  const ownRejections: string[] = [];
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    ownRejections.push(String(event.reason));
  });

  const dir = await Deno.makeTempDir({ prefix: "freerouter-loadtest-" });
  const fake = startFake();
  let proxy: Awaited<ReturnType<typeof startFreerouter>> | undefined;
  try {
    proxy = await startFreerouter({
      OPENROUTER_API_KEY: "sk-or-v1-loadtest",
      OPENROUTER_BASE_URL: fake.baseUrl,
      HOST: "127.0.0.1",
      PORT: "0",
      FREEROUTER_RPM: "0",
      MAX_ATTEMPTS: String(MAX_ATTEMPTS),
      REQUEST_TIMEOUT: String(REQUEST_TIMEOUT_S),
      FREEROUTER_KV_PATH: `${dir}/kv.sqlite`,
      LOG_LEVEL: "info", // the default: one line per request
    }, dir);
    const { url, pid, gc } = proxy;
    console.error(`freerouter pid ${pid} at ${url}, fake at ${fake.baseUrl}`);
    console.error(`started as: ${proxy.command.join(" ")}`);
    const rssIdle = await rssKiB(pid);

    let peak = rssIdle;
    let sampling = true;
    const sampler = (async () => {
      while (sampling && !proxy!.exited) {
        peak = Math.max(peak, await rssKiB(pid).catch(() => 0));
        await sleep(250);
      }
    })();

    /** One load, then the figures once it has drained and V8 has collected. */
    const load = async (name: string, stats: ClientStats) => {
      await drive(url, options.clients, options.seconds * 1000, stats, name);
      const ended = performance.now();
      while (
        (fake.stats.pending > 0 || fake.stats.streams > 0) &&
        performance.now() - ended < CLIENT_TIMEOUT_MS
      ) await sleep(100);
      const heap = await gc.settled(ended);
      const reading: Reading = {
        requests: stats.total,
        rss: proxy!.exited ? NaN : await rssKiB(pid),
        heap,
        reducedAfter: heap ? (heap.at - ended) / 1000 : NaN,
      };
      console.error(
        `${name}: ${stats.total} requests; RSS ${mib(reading.rss)}, heap ${
          heap ? `${heap.used.toFixed(1)} MB` : "not collected"
        } (reducer after ${reading.reducedAfter.toFixed(1)} s)`,
      );
      return reading;
    };

    const warmup = await load("warm-up", newStats());
    const stats = newStats();
    const rounds: Reading[] = [];
    const loadStarted = performance.now();
    for (let r = 1; r <= options.rounds && !proxy.exited; r++) {
      const round = newStats();
      rounds.push(await load(`round ${r}`, round));
      merge(stats, round);
    }
    const wallSeconds = (performance.now() - loadStarted) / 1000;
    sampling = false;
    await sampler;
    const alive = !proxy.exited;
    const exit = await proxy.stop();

    return report({
      options,
      warmup,
      rounds,
      stats,
      fake: fake.stats,
      wallSeconds,
      rssIdle,
      peak,
      alive,
      exit,
      uncaught: proxy.uncaught.length,
      stderr: proxy.stderr(),
      ownRejections: ownRejections.length,
    });
  } finally {
    if (proxy && !proxy.exited) await proxy.stop();
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
}
