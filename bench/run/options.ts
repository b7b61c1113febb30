/**
 * The bench's command line, and where things are: bench/, the repository, and
 * the Deno running the bench.
 *
 * @module
 */

/** bench/, with a trailing slash. */
export const BENCH_DIR = new URL("../", import.meta.url).pathname;
/** The repository, without a trailing slash. */
export const REPO = new URL("../..", import.meta.url).pathname.replace(
  /\/$/,
  "",
);
/** The Deno that runs the bench runs every process it starts. */
export const DENO = Deno.execPath();

/** What `deno task bench` was asked to do. */
export interface Options {
  rounds: number;
  seconds: number;
  pin: boolean;
  out: string | undefined;
  ref: string | undefined;
  tree: string | undefined;
  env: Record<string, string>;
  profile: boolean;
  quick: boolean;
}

/** Printed for `--help`, and after a usage error. */
export const USAGE =
  "usage: deno task bench [--quick] [--rounds N] [--seconds S] [--no-pin] [--out FILE | --out -] [--ref REF | --tree DIR] [--env KEY=VALUE]... [--profile]";

/**
 * Parses the command line: the options, or `"help"` for `--help`/`-h`. Throws
 * an `Error` naming the problem for anything else it cannot use.
 */
export function parseArgs(args: readonly string[]): Options | "help" {
  const o: Options = {
    rounds: 5,
    seconds: 3,
    pin: true,
    out: `${BENCH_DIR}results.md`,
    ref: undefined,
    tree: undefined,
    env: {},
    profile: false,
    quick: false,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const count = () => {
      const n = Number(value());
      if (!Number.isFinite(n) || n < 1) {
        throw new Error(`${a} needs a number of at least 1`);
      }
      return n;
    };
    if (a === "--help" || a === "-h") return "help";
    if (a === "--rounds") o.rounds = Math.round(count());
    else if (a === "--seconds") o.seconds = count();
    else if (a === "--no-pin") o.pin = false;
    else if (a === "--out") o.out = value();
    else if (a === "--ref") o.ref = value();
    else if (a === "--tree") o.tree = value().replace(/\/$/, "");
    else if (a === "--env") {
      const [k, ...v] = value().split("=");
      if (!k || v.length === 0) throw new Error("--env needs KEY=VALUE");
      o.env[k] = v.join("=");
    } else if (a === "--profile") o.profile = true;
    else if (a === "--quick") {
      o.quick = true;
      o.rounds = 1;
      o.seconds = 2;
      o.out = undefined;
    } else throw new Error(`unknown option ${a}`);
  }
  if (o.out === "-") o.out = undefined;
  return o;
}
