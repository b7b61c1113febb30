/**
 * The command lines of `deno task bench` and `deno task loadtest`: `--help`
 * prints the usage, and a bad option is one line and exit code 2, not a stack
 * trace.
 */
import assert from "node:assert/strict";
import { parseArgs as benchArgs, USAGE as BENCH_USAGE } from "../bench/run.ts";
import {
  parseArgs as loadtestArgs,
  startCommand,
  USAGE as LOADTEST_USAGE,
} from "../scripts/loadtest.ts";
import { runScript } from "./_deno_process.ts";

const BENCH = new URL("../bench/run.ts", import.meta.url).pathname;
const LOADTEST = new URL("../scripts/loadtest.ts", import.meta.url).pathname;

Deno.test("bench: parses its options, and --help anywhere asks for the usage", () => {
  const o = benchArgs([
    "--rounds",
    "3",
    "--seconds",
    "2",
    "--env",
    "LOG_LEVEL=warn",
    "--env",
    "A=b=c",
    "--out",
    "-",
    "--no-pin",
  ]);
  assert.notEqual(o, "help");
  if (o === "help") return;
  assert.equal(o.rounds, 3);
  assert.equal(o.seconds, 2);
  assert.deepEqual(o.env, { LOG_LEVEL: "warn", A: "b=c" });
  assert.equal(o.out, undefined);
  assert.equal(o.pin, false);
  assert.equal(benchArgs(["--quick", "--help"]), "help");
  assert.equal(benchArgs(["-h"]), "help");
});

Deno.test("bench: refuses unknown options, missing values and numbers below 1", () => {
  assert.throws(() => benchArgs(["--bogus"]), /unknown option --bogus/);
  assert.throws(() => benchArgs(["--rounds"]), /--rounds needs a value/);
  assert.throws(() => benchArgs(["--rounds", "x"]), /--rounds needs a number/);
  assert.throws(
    () => benchArgs(["--seconds", "0"]),
    /--seconds needs a number/,
  );
  assert.throws(() => benchArgs(["--env", "NOVALUE"]), /--env needs KEY=VALUE/);
});

Deno.test("loadtest: parses its options, and --help asks for the usage", () => {
  assert.deepEqual(loadtestArgs([]), { rounds: 6, seconds: 8, clients: 500 });
  assert.deepEqual(
    loadtestArgs(["--rounds", "5", "--seconds", "2.5", "--clients", "20"]),
    { rounds: 5, seconds: 2.5, clients: 20 },
  );
  assert.equal(loadtestArgs(["--seconds", "5", "--help"]), "help");
  assert.equal(loadtestArgs(["-h"]), "help");
});

Deno.test("loadtest: names an unknown option as unknown, and refuses non-positive numbers and fewer than 5 rounds", () => {
  assert.throws(() => loadtestArgs(["--bogus"]), /Unknown option: --bogus/);
  assert.throws(() => loadtestArgs(["--settle", "2"]), /Unknown option/);
  assert.throws(
    () => loadtestArgs(["--clients", "-3"]),
    /--clients needs a positive number/,
  );
  assert.throws(
    () => loadtestArgs(["--seconds"]),
    /--seconds needs a positive number/,
  );
  for (const rounds of ["4", "5.5"]) {
    assert.throws(
      () => loadtestArgs(["--rounds", rounds]),
      /--rounds needs a whole number, at least 5/,
    );
  }
});

Deno.test("loadtest: startCommand() is the start task's argv with this deno, and finds its script", () => {
  const json = (start: unknown) => JSON.stringify({ tasks: { start } });
  const plain = startCommand(
    json("deno run --allow-net --v8-flags=--a,--b 'src/my main.ts' --port 1"),
    "/opt/deno",
  );
  assert.deepEqual(plain.args, [
    "/opt/deno",
    "run",
    "--allow-net",
    "--v8-flags=--a,--b",
    "src/my main.ts",
    "--port",
    "1",
  ]);
  assert.equal(plain.entry, 4);
  assert.deepEqual(
    startCommand(json({ command: "deno run -A main.ts" }), "d"),
    { args: ["d", "run", "-A", "main.ts"], entry: 3 },
  );
  assert.throws(() => startCommand(json("deno task x && y"), "d"), /plain/);
  assert.throws(() => startCommand(json("node main.js"), "d"), /deno run/);
  assert.throws(() => startCommand(json("deno run -A"), "d"), /no script/);
  assert.throws(() => startCommand("{}", "d"), /no start task/);

  // The repository's own task: a script that exists.
  const own = startCommand(
    Deno.readTextFileSync(new URL("../deno.json", import.meta.url)),
    Deno.execPath(),
  );
  assert.equal(own.args[0], Deno.execPath());
  assert.ok(
    Deno.statSync(new URL(`../${own.args[own.entry]}`, import.meta.url)).isFile,
  );
});

for (
  const [name, script, usage] of [
    ["bench", BENCH, BENCH_USAGE],
    ["loadtest", LOADTEST, LOADTEST_USAGE],
  ] as const
) {
  Deno.test(`${name}: --help prints the usage and exits 0; a bad option exits 2 with one line and the usage`, async () => {
    const help = await runScript(script, { args: ["--help"] });
    assert.equal(help.code, 0, help.stderr);
    assert.equal(help.stdout, `${usage}\n`);

    const bad = await runScript(script, { args: ["--bogus"] });
    assert.equal(bad.code, 2);
    assert.equal(bad.stdout, "");
    assert.equal(
      bad.stderr,
      `${name}: ${
        name === "bench" ? "unknown option" : "Unknown option:"
      } --bogus\n${usage}\n`,
    );
  });
}
