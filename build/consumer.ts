/**
 * The package as a consumer gets it: `npm pack`, the tarball installed into a
 * scratch project, `npm_tests/types_smoke.mts` type-checked against it as a
 * NodeNext consumer would, and `npm_tests/` run there with `node --test`.
 *
 * @module
 */
import ts from "npm:typescript@6.0.3";
import { join } from "node:path";
import { LIB } from "./compile.ts";
import {
  BuildError,
  npm,
  OUT,
  removeIfPresent,
  ROOT,
  run,
  SCRATCH,
  TOOLS,
} from "./util.ts";

const CONSUMER = join(SCRATCH, "consumer");
const NPM_TESTS = join(ROOT, "npm_tests");
/** The npm build of Deno KV, for the Node persistence test (skipped when it does not install). */
const DENO_KV = "@deno/kv@0.14.0";
/** The Node adapter the README recommends for createHandler(), which the handler tests serve through. */
const NODE_SERVER = "@hono/node-server@2.1.11";

const formatHost: ts.FormatDiagnosticsHost = {
  getCanonicalFileName: (f) => f,
  getCurrentDirectory: () => ROOT,
  getNewLine: () => "\n",
};

function failOnDiagnostics(
  diagnostics: readonly ts.Diagnostic[],
  what: string,
): void {
  if (diagnostics.length === 0) return;
  throw new BuildError(
    `${what}: ${diagnostics.length} TypeScript error(s)\n${
      ts.formatDiagnosticsWithColorAndContext(diagnostics, formatHost)
    }`,
  );
}

/** Packs `npm/` into `.npm-build/` and checks what the tarball holds. */
export async function pack(): Promise<string> {
  const out = await npm(
    ["pack", "--json", "--pack-destination", SCRATCH],
    OUT,
  );
  const [report] = JSON.parse(out) as Array<
    { filename: string; files: Array<{ path: string }> }
  >;
  if (!report) throw new BuildError(`npm pack reported nothing: ${out}`);
  const paths = report.files.map((f) => f.path);
  const missing = ["package.json", "README.md", "LICENSE", "esm/mod.js"]
    .filter((p) => !paths.includes(p));
  const stray = paths.filter((p) =>
    !p.startsWith("esm/") &&
    !["package.json", "README.md", "LICENSE"].includes(p)
  );
  if (missing.length > 0 || stray.length > 0) {
    throw new BuildError(
      `The tarball is wrong: missing [${missing.join(", ")}], unexpected [${
        stray.join(", ")
      }]`,
    );
  }
  console.log(`  ${report.filename}: ${paths.length} files`);
  return join(SCRATCH, report.filename);
}

/** A scratch project with the tarball installed from the registry's point of view. */
export async function installConsumer(tarball: string): Promise<void> {
  await removeIfPresent(CONSUMER);
  await Deno.mkdir(CONSUMER, { recursive: true });
  await Deno.writeTextFile(
    join(CONSUMER, "package.json"),
    `${
      JSON.stringify(
        { name: "freerouter-npm-tests", private: true, type: "module" },
        null,
        2,
      )
    }\n`,
  );
  const install = ["install", "--no-package-lock", "--ignore-scripts"];
  try {
    await npm([...install, tarball, NODE_SERVER, DENO_KV], CONSUMER);
  } catch (err) {
    console.warn(
      `  ${DENO_KV} did not install; the KV test will be skipped\n  ${
        (err as Error).message.split("\n").slice(0, 3).join("\n  ")
      }`,
    );
    await npm([...install, tarball, NODE_SERVER], CONSUMER);
  }
}

/** Type-checks `npm_tests/types_smoke.mts` as a Node consumer of the installed package would. */
function checkConsumerTypes(npmName: string): void {
  const { options, errors } = ts.convertCompilerOptionsFromJson({
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    lib: LIB,
    types: ["node"],
    typeRoots: [join(TOOLS, "node_modules", "@types")],
    strict: true,
    // Stricter than strict: options read from the environment are
    // `string | undefined`, and the README passes them as they come.
    exactOptionalPropertyTypes: true,
    noEmit: true,
    skipLibCheck: false,
  }, ROOT);
  failOnDiagnostics(errors, "Invalid compiler options");
  const program = ts.createProgram({
    rootNames: [join(CONSUMER, "npm_tests", "types_smoke.mts")],
    options,
  });
  const ours = join(CONSUMER, "node_modules", npmName);
  // Only our own declarations and the smoke file: others' .d.ts are theirs to check.
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...program.getSourceFiles()
      .filter((f) =>
        !f.fileName.includes("/node_modules/") || f.fileName.startsWith(ours)
      )
      .flatMap((f) => [
        ...program.getSyntacticDiagnostics(f),
        ...program.getSemanticDiagnostics(f),
      ]),
  ];
  failOnDiagnostics(
    diagnostics,
    "The installed package's types do not work for a NodeNext consumer",
  );
  const resolved = program.getSourceFiles().some((f) =>
    f.fileName === join(ours, "esm", "mod.d.ts")
  );
  if (!resolved) {
    throw new BuildError(
      `"${npmName}" did not resolve to esm/mod.d.ts for a NodeNext consumer`,
    );
  }
}

/**
 * Copies `npm_tests/` into the scratch project, type-checks its consumer, and
 * runs it with `node --test`.
 */
export async function runNodeTests(npmName: string): Promise<void> {
  const target = join(CONSUMER, "npm_tests");
  await Deno.mkdir(target, { recursive: true });
  const tests: string[] = [];
  for await (const entry of Deno.readDir(NPM_TESTS)) {
    if (!entry.isFile) continue;
    await Deno.copyFile(join(NPM_TESTS, entry.name), join(target, entry.name));
    if (entry.name.endsWith(".test.mjs")) tests.push(`npm_tests/${entry.name}`);
  }
  if (tests.length === 0) throw new BuildError("npm_tests/ has no *.test.mjs");
  tests.sort();
  checkConsumerTypes(npmName);
  console.log("  consumer types check");
  await run("node", ["--test", "--test-reporter=spec", ...tests], {
    cwd: CONSUMER,
  });
}
