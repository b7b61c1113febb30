/**
 * The load test's command line: `--rounds`, `--seconds`, `--clients`, and
 * `--help`.
 *
 * @module
 */

import { MIN_ROUNDS } from "./settings.ts";

/** What the command line sets. */
export interface Options {
  rounds: number;
  /** Seconds per round. */
  seconds: number;
  clients: number;
}

/** Printed for `--help`, and after a usage error. */
export const USAGE =
  "usage: deno task loadtest [--rounds 6] [--seconds 8] [--clients 500]";

/**
 * Parses the command line: the options, or `"help"` for `--help`/`-h`. Throws
 * an `Error` naming the problem for anything else it cannot use.
 */
export function parseArgs(args: readonly string[]): Options | "help" {
  const o: Options = { rounds: 6, seconds: 8, clients: 500 };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    if (flag === "--help" || flag === "-h") return "help";
    if (flag !== "--rounds" && flag !== "--seconds" && flag !== "--clients") {
      throw new Error(`Unknown option: ${flag}`);
    }
    const value = Number(args[++i]);
    if (!Number.isFinite(value) || value <= 0) {
      throw new Error(`${flag} needs a positive number`);
    }
    if (flag === "--rounds") {
      if (!Number.isInteger(value) || value < MIN_ROUNDS) {
        throw new Error(
          `--rounds needs a whole number, at least ${MIN_ROUNDS}`,
        );
      }
      o.rounds = value;
    } else if (flag === "--seconds") o.seconds = value;
    else o.clients = Math.ceil(value);
  }
  return o;
}
