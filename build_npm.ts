/**
 * Builds the npm package in `npm/` from the same sources as the JSR package,
 * then tests the built package on Node.
 *
 * 1. Reads the module graph of `src/mod.ts` with `deno info` (it must not
 *    reach `src/server/`, the Deno server), maps its npm imports to npm
 *    dependencies through deno.json's `imports`, and installs tsc and the
 *    declarations the build needs into `.npm-build/tools/` (build/graph.ts).
 * 2. Compiles `src/mod.ts` and what it imports with TypeScript's own `tsc` to
 *    ESM JavaScript and `.d.ts` files in `npm/esm/` (build/compile.ts).
 * 3. Fails on any use of the Deno namespace, any src/server/ file, and any
 *    import that Node cannot resolve in the output (build/check.ts).
 * 4. Writes `npm/package.json` and copies README.md and LICENSE.
 * 5. Packs the package, installs the tarball into a scratch project, type-checks
 *    a consumer against it, and runs `npm_tests/` there with `node --test`
 *    (build/consumer.ts).
 *
 * ```sh
 * deno run -A build_npm.ts
 * ```
 *
 * Exits non-zero when any step fails.
 *
 * @module
 */
import { join } from "node:path";
import {
  checkOutput,
  pruneDeclarations,
  publicDeclarations,
} from "./build/check.ts";
import { compile, finishOutput, installTools } from "./build/compile.ts";
import { installConsumer, pack, runNodeTests } from "./build/consumer.ts";
import { type Dependency, ENTRY, libraryGraph } from "./build/graph.ts";
import {
  BuildError,
  OUT,
  readJson,
  removeIfPresent,
  ROOT,
} from "./build/util.ts";

/** The npm package name (the JSR name is scoped; the npm one is not). */
const NPM_NAME = "freerouter";
const DESCRIPTION =
  "OpenRouter's free models behind one OpenAI-compatible endpoint, with automatic fallback on rate limits, errors and timeouts, and per-model cooldowns.";
const REPOSITORY = "https://github.com/freerouter/freerouter";
const KEYWORDS = [
  "openrouter",
  "openai",
  "llm",
  "free-models",
  "proxy",
  "router",
  "fallback",
  "rate-limit",
  "chat-completions",
];
/** The oldest Node the package supports (build/compile.ts checks against its types). */
const NODE_ENGINES = ">=20.3"; // AbortSignal.any

/** The parts of deno.json the build reads. */
interface DenoJson {
  name?: string;
  version?: string;
  license?: string;
  imports?: Record<string, string>;
}

/** package.json, and README.md (its examples under the npm name) and LICENSE. */
async function writePackage(deno: DenoJson, deps: Dependency[]) {
  if (!deno.version) throw new BuildError("deno.json has no version");
  const pkg = {
    name: NPM_NAME,
    version: deno.version,
    description: DESCRIPTION,
    license: deno.license ?? "MIT",
    keywords: KEYWORDS,
    homepage: `${REPOSITORY}#readme`,
    repository: { type: "git", url: `git+${REPOSITORY}.git` },
    bugs: { url: `${REPOSITORY}/issues` },
    type: "module",
    main: "./esm/mod.js",
    types: "./esm/mod.d.ts",
    exports: {
      // `default` lets Node's require(esm) (20.19 and later) and CommonJS
      // tools load the package too.
      ".": {
        types: "./esm/mod.d.ts",
        import: "./esm/mod.js",
        default: "./esm/mod.js",
      },
      "./package.json": "./package.json",
    },
    files: ["esm/", "README.md", "LICENSE"],
    sideEffects: false,
    engines: { node: NODE_ENGINES },
    dependencies: Object.fromEntries(deps.map((d) => [d.name, d.range])),
  };
  await Deno.writeTextFile(
    join(OUT, "package.json"),
    `${JSON.stringify(pkg, null, 2)}\n`,
  );
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  await Deno.writeTextFile(
    join(OUT, "README.md"),
    deno.name
      ? readme.replaceAll(JSON.stringify(deno.name), JSON.stringify(NPM_NAME))
      : readme,
  );
  await Deno.copyFile(join(ROOT, "LICENSE"), join(OUT, "LICENSE"));
}

async function step<T>(title: string, fn: () => Promise<T> | T): Promise<T> {
  const started = performance.now();
  console.log(`build_npm: ${title}`);
  const result = await fn();
  console.log(
    `  (${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );
  return result;
}

async function main(): Promise<void> {
  const deno = await readJson<DenoJson>(join(ROOT, "deno.json"));
  const deps = await step("module graph and dependencies", async () => {
    const graph = await libraryGraph(ENTRY, deno.imports ?? {});
    console.log(
      `  ${graph.files.length} modules from src/mod.ts; dependencies: ${
        graph.dependencies.map((d) => `${d.name}@${d.range}`).join(", ") ||
        "none"
      }`,
    );
    await installTools(graph.dependencies);
    return graph.dependencies;
  });
  const shipped = await step(
    "compile src/mod.ts to npm/esm (tsc)",
    async () => {
      await removeIfPresent(OUT);
      await compile();
      const files = await finishOutput(deno.name, NPM_NAME);
      // Only what a user can reach ships, and only its packages are dependencies.
      const types = await publicDeclarations();
      const pruned = await pruneDeclarations(types.files);
      const shipped = deps.filter((d) =>
        !d.typeOnly || types.packages.has(d.name)
      );
      await checkOutput(new Set(shipped.map((d) => d.name)));
      console.log(
        `  ${
          files - pruned
        } files in npm/esm (${pruned} declarations no user can reach left out), no Deno references; dependencies: ${
          shipped.map((d) => d.name).join(", ") || "none"
        }`,
      );
      return shipped;
    },
  );
  const tarball = await step(
    "package.json, README, LICENSE, pack",
    async () => {
      await writePackage(deno, shipped);
      return await pack();
    },
  );
  await step(
    "install the tarball into .npm-build/consumer",
    () => installConsumer(tarball),
  );
  await step("Node tests (npm_tests/)", () => runNodeTests(NPM_NAME));
  console.log(`build_npm: npm/ is ready (${NPM_NAME}@${deno.version})`);
}

if (import.meta.main) {
  try {
    await main();
  } catch (err) {
    if (!(err instanceof BuildError)) throw err;
    console.error(`build_npm: ${err.message}`);
    Deno.exit(1);
  }
}
