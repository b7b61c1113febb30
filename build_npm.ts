/**
 * Builds the npm package in `npm/` from the same sources as the JSR package,
 * then tests the built package on Node.
 *
 * 1. Follows `src/mod.ts` and what it imports (never `src/server/main.ts`, the Deno
 *    server), maps its bare imports to npm dependencies through deno.json's
 *    `imports`, and installs the build's type declarations into `.npm-build/`.
 * 2. Compiles that graph with TypeScript's compiler API to ESM JavaScript and
 *    `.d.ts` files in `npm/esm/`, with `.ts` import extensions rewritten to `.js`.
 * 3. Fails on any `Deno.` reference and on any import that Node cannot resolve
 *    in the output.
 * 4. Writes `npm/package.json` and copies README.md and LICENSE.
 * 5. Packs the package, installs the tarball into a scratch project, type-checks
 *    a consumer against it, and runs `npm_tests/` there with `node --test`.
 *
 * ```sh
 * deno run -A build_npm.ts
 * ```
 *
 * Exits non-zero when any step fails.
 *
 * @module
 */
import ts from "npm:typescript@6.0.3";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

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
/** The oldest Node the package supports; the build type-checks against its declarations. */
const NODE_ENGINES = ">=20";
const TYPES_NODE = "@types/node@20.19.43";
/** The npm build of Deno KV, for the Node persistence test (skipped when it does not install). */
const DENO_KV = "@deno/kv@0.14.0";
/**
 * The type libraries: what Node 20 implements (ES2023: the library must not
 * lean on newer built-ins), explicit resource management for `AsyncDisposable`,
 * and DOM for the web types src/ names that \@types/node does not declare
 * globally (`HeadersInit`, `ReadableStreamReadResult`).
 */
const LIB = ["ES2023", "ESNext.Disposable"];

const ROOT = dirname(fileURLToPath(import.meta.url));
const SRC = join(ROOT, "src");
const ENTRY = join(SRC, "mod.ts");
const OUT = join(ROOT, "npm");
const ESM = join(OUT, "esm");
const SCRATCH = join(ROOT, ".npm-build");
const TOOLS = join(SCRATCH, "tools");
const CONSUMER = join(SCRATCH, "consumer");
const NPM_TESTS = join(ROOT, "npm_tests");

/** A build failure with a message meant for the person running the build. */
class BuildError extends Error {
  override name = "BuildError";
}

/** The parts of deno.json the build reads. */
interface DenoJson {
  name?: string;
  version?: string;
  license?: string;
  imports?: Record<string, string>;
  compilerOptions?: Record<string, unknown>;
}

/** The parts of deno.lock the build reads. */
interface DenoLock {
  specifiers?: Record<string, string>;
}

/** An npm dependency of the library: the bare specifier is the package name. */
interface Dependency {
  name: string;
  /** The semver range from deno.json, which goes into package.json. */
  range: string;
  /** The version deno.lock resolved, used to type-check the build. */
  locked: string | undefined;
}

const rel = (path: string) => relative(ROOT, path) || ".";

function isRelative(specifier: string): boolean {
  return specifier.startsWith("./") || specifier.startsWith("../");
}

function isBare(specifier: string): boolean {
  return !isRelative(specifier) && !specifier.startsWith("/") &&
    !/^[a-z][a-z0-9+.-]*:/i.test(specifier);
}

/** `zod/mini` → `zod`, `@scope/pkg/sub` → `@scope/pkg`. */
function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await Deno.readTextFile(path)) as T;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

async function removeIfPresent(path: string): Promise<void> {
  await Deno.remove(path, { recursive: true }).catch((err) => {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  });
}

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* walk(path);
    else if (entry.isFile) yield path;
  }
}

/** Runs a command; throws {@link BuildError} with its output when it fails. */
async function run(
  command: string,
  args: string[],
  options: { cwd: string; quiet?: boolean },
): Promise<string> {
  const shown = `${command} ${args.join(" ")}`;
  const output = await new Deno.Command(command, {
    args,
    cwd: options.cwd,
    stdin: "null",
    stdout: options.quiet ? "piped" : "inherit",
    stderr: options.quiet ? "piped" : "inherit",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  const stdout = options.quiet ? decode(output.stdout) : "";
  if (!output.success) {
    const stderr = options.quiet ? decode(output.stderr) : "";
    throw new BuildError(
      `\`${shown}\` (in ${rel(options.cwd)}) exited with ${output.code}${
        stdout || stderr ? `:\n${stdout}${stderr}` : ""
      }`,
    );
  }
  return stdout;
}

/** Runs npm quietly: its output is shown only when it fails. */
function npm(args: string[], cwd: string): Promise<string> {
  return run("npm", [...args, "--no-audit", "--no-fund"], { cwd, quiet: true });
}

// ---------------------------------------------------------------------------
// 1. The module graph and its dependencies

/** The library's files and the bare specifiers they import, with an importer each. */
async function collectGraph(
  entry: string,
): Promise<{ files: string[]; bare: Map<string, string> }> {
  const files: string[] = [];
  const bare = new Map<string, string>();
  const seen = new Set([entry]);
  const queue = [entry];
  for (let file = queue.shift(); file; file = queue.shift()) {
    files.push(file);
    const info = ts.preProcessFile(await Deno.readTextFile(file), true, true);
    for (const { fileName: specifier } of info.importedFiles) {
      if (specifier.startsWith("node:")) continue;
      if (isBare(specifier)) {
        if (!bare.has(specifier)) bare.set(specifier, file);
        continue;
      }
      if (!isRelative(specifier)) {
        throw new BuildError(
          `${
            rel(file)
          } imports "${specifier}": only relative, node: and bare imports (mapped in deno.json) can be built for npm`,
        );
      }
      const target = resolve(dirname(file), specifier);
      if (relative(SRC, target).startsWith("..")) {
        throw new BuildError(
          `${rel(file)} imports ${rel(target)}, outside src/`,
        );
      }
      if (target === join(SRC, "main.ts")) {
        throw new BuildError(
          `${
            rel(file)
          } imports src/server/main.ts, the Deno server entry; the library must not`,
        );
      }
      if (!target.endsWith(".ts") || !(await exists(target))) {
        throw new BuildError(
          `${
            rel(file)
          } imports "${specifier}", which is not an existing .ts file`,
        );
      }
      if (!seen.has(target)) {
        seen.add(target);
        queue.push(target);
      }
    }
  }
  return { files, bare };
}

/** Maps the library's bare imports to npm dependencies via deno.json's `imports`. */
function dependenciesOf(
  bare: Map<string, string>,
  deno: DenoJson,
  lock: DenoLock,
): Dependency[] {
  const deps = new Map<string, Dependency>();
  for (const [specifier, importer] of bare) {
    const where = `${rel(importer)} imports "${specifier}"`;
    const target = deno.imports?.[specifier];
    if (target === undefined) {
      throw new BuildError(`${where}, which deno.json's imports do not map`);
    }
    const match = /^npm:(@?[^@/]+(?:\/[^@/]+)?)@([^/]+)$/.exec(target);
    if (!match) {
      throw new BuildError(
        `${where}, mapped to "${target}": an npm build needs "npm:<name>@<range>" (JSR and URL imports cannot become npm dependencies)`,
      );
    }
    const [, name, range] = match as unknown as [string, string, string];
    if (packageName(specifier) !== name) {
      throw new BuildError(
        `${where}, mapped to the package ${name}: Node resolves the specifier itself, so it must be the package name`,
      );
    }
    const locked = lock.specifiers?.[target]?.split("_")[0];
    deps.set(name, { name, range, locked });
  }
  return [...deps.values()].sort((a, b) => a.name < b.name ? -1 : 1);
}

/** Installs what type-checking the build needs into `.npm-build/tools`, once per set of versions. */
async function installTools(deps: Dependency[]): Promise<void> {
  const specs = [
    TYPES_NODE,
    ...deps.map((d) => `${d.name}@${d.locked ?? d.range}`),
  ];
  const stamp = join(TOOLS, "installed.json");
  const wanted = JSON.stringify(specs);
  if (
    await exists(stamp) && (await Deno.readTextFile(stamp)) === wanted
  ) return;
  await removeIfPresent(TOOLS);
  await Deno.mkdir(TOOLS, { recursive: true });
  await npm([
    "install",
    "--no-save",
    "--no-package-lock",
    "--ignore-scripts",
    "--prefix",
    TOOLS,
    ...specs,
  ], TOOLS);
  await Deno.writeTextFile(stamp, wanted);
}

// ---------------------------------------------------------------------------
// 2. Compile

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

/** Compiler options from JSON, as in a tsconfig. */
function compilerOptions(json: Record<string, unknown>): ts.CompilerOptions {
  const { options, errors } = ts.convertCompilerOptionsFromJson(json, ROOT);
  failOnDiagnostics(errors, "Invalid compiler options");
  return options;
}

/**
 * A compiler host that resolves bare imports (`zod`) from `.npm-build/tools`,
 * where the build installed them, and everything else as usual.
 */
function hostResolvingFromTools(options: ts.CompilerOptions): ts.CompilerHost {
  const host = ts.createCompilerHost(options);
  const anchor = join(TOOLS, "resolve.ts");
  host.resolveModuleNameLiterals = (
    literals,
    containingFile,
    redirected,
    opts,
    containingSourceFile,
  ) =>
    literals.map((literal) =>
      ts.resolveModuleName(
        literal.text,
        isBare(literal.text) ? anchor : containingFile,
        opts,
        host,
        undefined,
        redirected,
        ts.getModeForUsageLocation(containingSourceFile, literal, opts),
      )
    );
  return host;
}

/**
 * `rewriteRelativeImportExtensions` rewrites the JavaScript only: declaration
 * files keep `./x.ts`. Node-style consumers look for `./x.js` (→ `x.d.ts`).
 */
function rewriteDtsImports(fileName: string, text: string): string {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest);
  const edits: Array<{ start: number; end: number; text: string }> = [];
  const visit = (node: ts.Node): void => {
    const literal = specifiersOf(node);
    if (
      literal && isRelative(literal.text) && literal.text.endsWith(".ts") &&
      !literal.text.endsWith(".d.ts")
    ) {
      edits.push({
        start: literal.getStart(source) + 1,
        end: literal.getEnd() - 1,
        text: literal.text.replace(/\.ts$/, ".js"),
      });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  for (const edit of edits.reverse()) {
    text = text.slice(0, edit.start) + edit.text + text.slice(edit.end);
  }
  return text;
}

/** Compiles the library into `npm/esm`. */
function compile(deno: DenoJson): void {
  const options = compilerOptions({
    ...deno.compilerOptions,
    target: "ES2022",
    module: "ESNext",
    moduleResolution: "Bundler",
    lib: LIB,
    types: ["node"],
    typeRoots: [join(TOOLS, "node_modules", "@types")],
    rewriteRelativeImportExtensions: true,
    verbatimModuleSyntax: true,
    declaration: true,
    rootDir: SRC,
    outDir: ESM,
    newLine: "lf",
    skipLibCheck: true,
    noEmitOnError: true,
  });
  const host = hostResolvingFromTools(options);
  const program = ts.createProgram({ rootNames: [ENTRY], options, host });
  const diagnostics = ts.getPreEmitDiagnostics(program);
  const usesDeno = diagnostics.some((d) =>
    ts.flattenDiagnosticMessageText(d.messageText, "\n").includes("'Deno'")
  );
  failOnDiagnostics(
    diagnostics,
    usesDeno
      ? "src/mod.ts does not type-check for Node (the library must not use the Deno namespace: keep Deno APIs in src/server/main.ts and src/server/serve.ts)"
      : "src/mod.ts does not type-check for Node",
  );
  // JSDoc examples import the JSR name; on npm the package is `freerouter`.
  const jsrName = deno.name ? JSON.stringify(deno.name) : undefined;
  const result = program.emit(undefined, (fileName, text, bom) => {
    if (jsrName) text = text.replaceAll(jsrName, JSON.stringify(NPM_NAME));
    if (fileName.endsWith(".d.ts")) text = rewriteDtsImports(fileName, text);
    host.writeFile(fileName, text, bom);
  });
  failOnDiagnostics(result.diagnostics, "Emitting npm/esm failed");
  if (result.emitSkipped) throw new BuildError("TypeScript emitted nothing");
}

// ---------------------------------------------------------------------------
// 3. Check the output

/** One problem found in an emitted file. */
interface Finding {
  file: string;
  position: number;
  message: string;
}

/** `Deno`, `x.Deno` or `x["Deno"]`: an expression that names the Deno namespace. */
function namesDeno(node: ts.Node): boolean {
  if (ts.isIdentifier(node)) return node.text === "Deno";
  if (ts.isPropertyAccessExpression(node)) return node.name.text === "Deno";
  return ts.isElementAccessExpression(node) &&
    ts.isStringLiteralLike(node.argumentExpression) &&
    node.argumentExpression.text === "Deno";
}

/**
 * A use of the Deno namespace, as `/\bDeno\./` finds it in code: `Deno.env`,
 * `globalThis.Deno.env`, `Deno["env"]`, or the type `Deno.Kv`. Feature checks
 * that do not dereference it (`typeof Deno`, `globalThis["Deno"]?.x`) pass;
 * comments and strings never match.
 */
function isDenoReference(node: ts.Node): boolean {
  const parent = node.parent;
  if (!parent || !namesDeno(node)) return false;
  if (ts.isQualifiedName(parent)) return parent.left === node;
  return (ts.isPropertyAccessExpression(parent) ||
    ts.isElementAccessExpression(parent)) &&
    parent.expression === node && !parent.questionDotToken;
}

/** Module specifiers in a file: imports, re-exports, `import()` and `import("…")` types. */
function specifiersOf(node: ts.Node): ts.StringLiteralLike | undefined {
  if (
    (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
    node.moduleSpecifier && ts.isStringLiteralLike(node.moduleSpecifier)
  ) return node.moduleSpecifier;
  if (
    ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) &&
    ts.isStringLiteralLike(node.argument.literal)
  ) return node.argument.literal;
  if (
    ts.isCallExpression(node) &&
    node.expression.kind === ts.SyntaxKind.ImportKeyword &&
    node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])
  ) return node.arguments[0];
  if (
    ts.isExternalModuleReference(node) &&
    ts.isStringLiteralLike(node.expression)
  ) return node.expression;
  return undefined;
}

/** What is wrong with one import of an emitted file, if anything. */
async function checkSpecifier(
  file: string,
  specifier: string,
  dependencies: Set<string>,
): Promise<string | undefined> {
  if (specifier.startsWith("node:")) return undefined;
  if (isRelative(specifier)) {
    if (!specifier.endsWith(".js")) {
      return `imports "${specifier}": Node needs relative imports to end in .js`;
    }
    const target = resolve(dirname(file), specifier);
    const expected = file.endsWith(".d.ts")
      ? target.replace(/\.js$/, ".d.ts")
      : target;
    return (await exists(expected))
      ? undefined
      : `imports "${specifier}", but ${rel(expected)} was not emitted`;
  }
  if (isBare(specifier)) {
    return dependencies.has(packageName(specifier))
      ? undefined
      : `imports "${specifier}", which is not a dependency in package.json`;
  }
  return `imports "${specifier}", which Node cannot resolve`;
}

/** Fails on `Deno.` references and on imports Node cannot resolve, with file and line. */
async function checkOutput(deps: Dependency[]): Promise<void> {
  const dependencies = new Set(deps.map((d) => d.name));
  const findings: Finding[] = [];
  const sources = new Map<string, ts.SourceFile>();
  let emitted = 0;
  for await (const file of walk(ESM)) {
    const isDts = file.endsWith(".d.ts");
    if (!isDts && !file.endsWith(".js")) {
      findings.push({ file, position: 0, message: "unexpected file" });
      continue;
    }
    emitted++;
    const source = ts.createSourceFile(
      file,
      await Deno.readTextFile(file),
      ts.ScriptTarget.Latest,
      true,
      isDts ? ts.ScriptKind.TS : ts.ScriptKind.JS,
    );
    sources.set(file, source);
    const imports: ts.StringLiteralLike[] = [];
    const visit = (node: ts.Node): void => {
      if (isDenoReference(node)) {
        findings.push({
          file,
          position: node.getStart(source),
          message: `references Deno: ${
            node.parent.getText(source).split("\n")[0]
          }`,
        });
      }
      const specifier = specifiersOf(node);
      if (specifier) imports.push(specifier);
      ts.forEachChild(node, visit);
    };
    visit(source);
    for (const literal of imports) {
      const problem = await checkSpecifier(file, literal.text, dependencies);
      if (problem) {
        findings.push({
          file,
          position: literal.getStart(source),
          message: problem,
        });
      }
    }
  }
  for (const entry of ["mod.js", "mod.d.ts"]) {
    if (!(await exists(join(ESM, entry)))) {
      findings.push({
        file: join(ESM, entry),
        position: 0,
        message: "missing",
      });
    }
  }
  if (findings.length > 0) {
    const lines = findings.map(({ file, position, message }) => {
      const source = sources.get(file);
      const where = source
        ? source.getLineAndCharacterOfPosition(position)
        : { line: 0, character: 0 };
      return `  ${rel(file)}:${where.line + 1}:${
        where.character + 1
      }: ${message}`;
    });
    throw new BuildError(
      `The npm output would not run on Node as built:\n${lines.join("\n")}`,
    );
  }
  console.log(`  ${emitted} files in npm/esm, no Deno references`);
}

// ---------------------------------------------------------------------------
// 4. package.json, README, LICENSE

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
      ".": { types: "./esm/mod.d.ts", import: "./esm/mod.js" },
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

// ---------------------------------------------------------------------------
// 5. Pack, install, test on Node

/** Packs `npm/` into `.npm-build/` and checks what the tarball holds. */
async function pack(): Promise<string> {
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
async function installConsumer(tarball: string): Promise<void> {
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
    await npm([...install, tarball, DENO_KV], CONSUMER);
  } catch (err) {
    console.warn(
      `  ${DENO_KV} did not install; the KV test will be skipped\n  ${
        (err as Error).message.split("\n").slice(0, 3).join("\n  ")
      }`,
    );
    await npm([...install, tarball], CONSUMER);
  }
}

/** Type-checks `npm_tests/types_smoke.mts` as a Node consumer of the installed package would. */
function checkConsumerTypes(): void {
  const options = compilerOptions({
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    lib: LIB,
    types: ["node"],
    typeRoots: [join(TOOLS, "node_modules", "@types")],
    strict: true,
    noEmit: true,
    skipLibCheck: false,
  });
  const program = ts.createProgram({
    rootNames: [join(CONSUMER, "npm_tests", "types_smoke.mts")],
    options,
  });
  const ours = join(CONSUMER, "node_modules", NPM_NAME);
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
      `"${NPM_NAME}" did not resolve to esm/mod.d.ts for a NodeNext consumer`,
    );
  }
}

/** Copies `npm_tests/` into the scratch project and runs it with `node --test`. */
async function runNodeTests(): Promise<void> {
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
  checkConsumerTypes();
  console.log("  consumer types check");
  await run("node", ["--test", "--test-reporter=spec", ...tests], {
    cwd: CONSUMER,
  });
}

// ---------------------------------------------------------------------------

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
  const lock = await exists(join(ROOT, "deno.lock"))
    ? await readJson<DenoLock>(join(ROOT, "deno.lock"))
    : {};
  const deps = await step("module graph and dependencies", async () => {
    const graph = await collectGraph(ENTRY);
    const deps = dependenciesOf(graph.bare, deno, lock);
    console.log(
      `  ${graph.files.length} modules from src/mod.ts; dependencies: ${
        deps.map((d) => `${d.name}@${d.range}`).join(", ") || "none"
      }`,
    );
    await installTools(deps);
    return deps;
  });
  await step("compile src/mod.ts to npm/esm", async () => {
    await removeIfPresent(OUT);
    compile(deno);
    await checkOutput(deps);
  });
  const tarball = await step(
    "package.json, README, LICENSE, pack",
    async () => {
      await writePackage(deno, deps);
      return await pack();
    },
  );
  await step(
    "install the tarball into .npm-build/consumer",
    () => installConsumer(tarball),
  );
  await step("Node tests (npm_tests/)", runNodeTests);
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
