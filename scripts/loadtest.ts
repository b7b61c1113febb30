/**
 * `deno task loadtest`: a bounded load test of the proxy under upstream faults,
 * and a leak check, on loopback only, about two and a half minutes. Linux only
 * (`/proc`, GNU `stdbuf`).
 *
 * - A purpose-built fake OpenRouter runs in this process on 127.0.0.1: 30 %
 *   of chat attempts answer a per-model 429 (with `X-RateLimit-Reset` a few
 *   seconds ahead), 5 % hang until the caller gives up, the rest succeed;
 *   streaming requests get a paced SSE stream. It counts the attempts for each
 *   client request by a marker the client puts in `messages[0].content`.
 * - freerouter runs as a separate process, started as `deno task start` starts
 *   it (the command is read from deno.json), with `FREEROUTER_RPM=0`,
 *   `MAX_ATTEMPTS=4`, `REQUEST_TIMEOUT=2` and KV in a temporary file, so that
 *   its RSS can be read from `/proc/<pid>/status`.
 * - The load: 500 concurrent clients for `--seconds` (default 8), half
 *   streaming, a tenth of those aborting after the first chunk. It runs once
 *   to warm up, then `--rounds` times (default 6). After each, once the fake
 *   has nothing open and V8's memory reducer has collected (see `GcLog` in
 *   `loadtest/gc_log.ts`), RSS and the V8 heap are read. A load much smaller
 *   than the default may not make V8 collect at all: the leak conditions then
 *   fail as not measured.
 *
 * Pass means: every request answered (a success or an OpenAI-shaped error),
 * no attempt beyond MAX_ATTEMPTS in the fake's log, no unhandled rejection
 * (freerouter alive, nothing uncaught on its stderr, a clean SIGTERM exit), and
 * no leak: RSS after the last round within 10 % of RSS after the second (no
 * growth round over round), and the V8 heap after a collection within 20 % of
 * its size after the warm-up. Prints a markdown table and one PASS/FAIL line
 * per condition; exits 1 when a condition fails.
 *
 * ```sh
 * deno run -A scripts/loadtest.ts [--rounds 6] [--seconds 8] [--clients 500]
 * ```
 *
 * The parts live in `scripts/loadtest/`: `options.ts` (the command line),
 * `settings.ts`, `fake_upstream.ts`, `freerouter.ts` (the process),
 * `gc_log.ts`, `clients.ts`, `report.ts` (the conditions) and `run.ts`.
 *
 * @module
 */

import { type Options, parseArgs, USAGE } from "./loadtest/options.ts";
import { main } from "./loadtest/run.ts";

export { type Options, parseArgs, USAGE } from "./loadtest/options.ts";
export { startCommand } from "./loadtest/freerouter.ts";

if (import.meta.main) {
  let parsed: Options | "help";
  try {
    parsed = parseArgs(Deno.args);
  } catch (err) {
    console.error(`loadtest: ${(err as Error).message}\n${USAGE}`);
    Deno.exit(2);
  }
  if (parsed === "help") console.log(USAGE);
  else Deno.exit(await main(parsed));
}
