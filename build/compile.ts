/**
 * Compiles the library with TypeScript's own `tsc`: a tsconfig.json in
 * `.npm-build/tools/` names `src/mod.ts` as the only file, and tsc follows its
 * imports, type-checks them for Node, and emits ESM JavaScript and `.d.ts`
 * files into `npm/esm/`, rewriting `./x.ts` imports to `./x.js`
 * (`rewriteRelativeImportExtensions`).
 *
 * `src` is seen through a symlink, `.npm-build/tools/src`, with
 * `preserveSymlinks`: tsc then resolves bare imports (`zod`,
 * `openai/resources/…`) from `.npm-build/tools/node_modules`, where the build
 * installed them, as Node resolves them for a consumer.
 *
 * @module
 */
import ts from "npm:typescript@6.0.3";
import { join } from "node:path";
import type { Dependency } from "./graph.ts";
import {
  BuildError,
  ESM,
  exists,
  npm,
  readJson,
  rel,
  removeIfPresent,
  ROOT,
  SRC,
  TOOLS,
  walk,
} from "./util.ts";

/** The oldest Node's declarations: the build type-checks against them. */
export const TYPES_NODE = "@types/node@20.19.43";
/**
 * The type libraries: what Node 20 implements (ES2023: the library must not
 * lean on newer built-ins), and explicit resource management for
 * `AsyncDisposable`. The web types (`Request`, `ReadableStream`, …) come
 * from \@types/node.
 */
export const LIB = ["ES2023", "ESNext.Disposable"];

/** Installs tsc and the declarations the library needs, once per set of versions. */
export async function installTools(deps: Dependency[]): Promise<void> {
  const specs = [
    `typescript@${ts.version}`,
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

/** deno.json's compiler options (strictness) with those of the npm build. */
async function writeTsconfig(): Promise<string> {
  const deno = await readJson<{ compilerOptions?: Record<string, unknown> }>(
    join(ROOT, "deno.json"),
  );
  const link = join(TOOLS, "src");
  await removeIfPresent(link);
  await Deno.symlink(SRC, link);
  const tsconfig = {
    compilerOptions: {
      ...deno.compilerOptions,
      target: "ES2022",
      module: "ESNext",
      moduleResolution: "Bundler",
      lib: LIB,
      types: ["node"],
      preserveSymlinks: true,
      rewriteRelativeImportExtensions: true,
      verbatimModuleSyntax: true,
      declaration: true,
      rootDir: "src",
      outDir: ESM,
      newLine: "lf",
      skipLibCheck: true,
      noEmitOnError: true,
    },
    files: ["src/mod.ts"],
  };
  const path = join(TOOLS, "tsconfig.json");
  await Deno.writeTextFile(path, `${JSON.stringify(tsconfig, null, 2)}\n`);
  return path;
}

/** Runs tsc on the library; fails with its diagnostics (and a hint for Deno). */
export async function compile(): Promise<void> {
  const tsconfig = await writeTsconfig();
  const tsc = join(TOOLS, "node_modules", "typescript", "bin", "tsc");
  const output = await new Deno.Command("node", {
    args: [tsc, "--project", tsconfig, "--pretty"],
    cwd: TOOLS,
    stdin: "null",
  }).output();
  if (output.success) return;
  const said = new TextDecoder().decode(output.stdout) +
    new TextDecoder().decode(output.stderr);
  throw new BuildError(
    `src/mod.ts does not type-check for Node${
      said.includes("'Deno'")
        ? " (the library must not use the Deno namespace: keep Deno APIs in src/server/)"
        : ""
    }; tsc --project ${rel(tsconfig)} says:\n${said}`,
  );
}

/** Module specifiers of a file: imports, re-exports, `import()` and `import("…")` types. */
export function specifierOf(node: ts.Node): ts.StringLiteralLike | undefined {
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
  return undefined;
}

/**
 * Finishes what tsc emitted. JSDoc examples import the JSR name; on npm the
 * package is `npmName`. And `rewriteRelativeImportExtensions` rewrites the
 * JavaScript only: declaration files keep `./x.ts` (microsoft/TypeScript#61037),
 * where Node-style consumers look for `./x.js` (→ `x.d.ts`). Returns the
 * number of files.
 */
export async function finishOutput(
  jsrName: string | undefined,
  npmName: string,
): Promise<number> {
  let files = 0;
  for await (const file of walk(ESM)) {
    files++;
    let text = await Deno.readTextFile(file);
    const original = text;
    if (jsrName) {
      text = text.replaceAll(JSON.stringify(jsrName), JSON.stringify(npmName));
    }
    if (file.endsWith(".d.ts")) {
      const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest);
      const edits: { start: number; end: number }[] = [];
      const visit = (node: ts.Node): void => {
        const literal = specifierOf(node);
        if (
          literal && literal.text.startsWith(".") &&
          literal.text.endsWith(".ts") && !literal.text.endsWith(".d.ts")
        ) {
          edits.push({
            start: literal.getStart(source) + 1,
            end: literal.getEnd() - 1,
          });
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
      for (const { start, end } of edits.reverse()) {
        text = `${text.slice(0, start)}${
          text.slice(start, end).replace(/\.ts$/, ".js")
        }${text.slice(end)}`;
      }
    }
    if (text !== original) await Deno.writeTextFile(file, text);
  }
  return files;
}
