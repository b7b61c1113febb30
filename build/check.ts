/**
 * Checks what the build emitted before it is packed: no use of the Deno
 * namespace (the library must run on Node), no file of src/server/, the
 * entry points there, and every import one Node resolves: relative ones end
 * in `.js`, bare ones name a dependency of package.json.
 *
 * @module
 */
import ts from "npm:typescript@6.0.3";
import { dirname, join, relative, resolve } from "node:path";
import { specifierOf } from "./compile.ts";
import { isBare, packageName } from "./graph.ts";
import { BuildError, ESM, exists, rel, walk } from "./util.ts";

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

/** What is wrong with one import of an emitted file, if anything. */
function checkSpecifier(
  specifier: string,
  dependencies: Set<string>,
): string | undefined {
  if (specifier.startsWith("node:")) return undefined;
  if (specifier.startsWith("./") || specifier.startsWith("../")) {
    return specifier.endsWith(".js")
      ? undefined
      : `imports "${specifier}": Node needs relative imports to end in .js`;
  }
  if (isBare(specifier)) {
    return dependencies.has(packageName(specifier))
      ? undefined
      : `imports "${specifier}", which is not a dependency in package.json`;
  }
  return `imports "${specifier}", which Node cannot resolve`;
}

/** Fails, with file and line, on anything in `npm/esm` that would not run on Node as built. */
export async function checkOutput(dependencies: Set<string>): Promise<void> {
  const findings: string[] = [];
  const finding = (file: string, message: string, at?: ts.Node) => {
    const where = at
      ? at.getSourceFile().getLineAndCharacterOfPosition(at.getStart())
      : { line: 0, character: 0 };
    findings.push(
      `${rel(file)}:${where.line + 1}:${where.character + 1}: ${message}`,
    );
  };
  for await (const file of walk(ESM)) {
    const isDts = file.endsWith(".d.ts");
    if (relative(ESM, file).startsWith("server/")) {
      finding(file, "src/server/ must not be in the package");
    }
    if (!isDts && !file.endsWith(".js")) {
      finding(file, "unexpected file");
      continue;
    }
    const source = ts.createSourceFile(
      file,
      await Deno.readTextFile(file),
      ts.ScriptTarget.Latest,
      true,
      isDts ? ts.ScriptKind.TS : ts.ScriptKind.JS,
    );
    const visit = (node: ts.Node): void => {
      if (isDenoReference(node)) {
        finding(
          file,
          `references Deno: ${node.parent.getText(source).split("\n")[0]}`,
          node,
        );
      }
      const literal = specifierOf(node);
      const problem = literal && checkSpecifier(literal.text, dependencies);
      if (problem) finding(file, problem, literal);
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  for (const entry of ["mod.js", "mod.d.ts"]) {
    if (!(await exists(join(ESM, entry)))) finding(join(ESM, entry), "missing");
  }
  if (findings.length > 0) {
    throw new BuildError(
      `The npm output would not run on Node as built:\n  ${
        findings.join("\n  ")
      }`,
    );
  }
}

/**
 * The declaration files a user of the package can reach (from `mod.d.ts`,
 * through relative imports), and the packages they import. Declarations of
 * modules only the runtime code reaches (the fronts' translation, typed with
 * `openai` and `@anthropic-ai/sdk`) are not among them: `exports` allows only
 * the entry point.
 */
export async function publicDeclarations(): Promise<
  { files: Set<string>; packages: Set<string> }
> {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [join(ESM, "mod.d.ts")];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (files.has(file)) continue;
    files.add(file);
    const source = ts.createSourceFile(
      file,
      await Deno.readTextFile(file),
      ts.ScriptTarget.Latest,
      true,
      ts.ScriptKind.TS,
    );
    const visit = (node: ts.Node): void => {
      const specifier = specifierOf(node)?.text;
      if (specifier !== undefined && isBare(specifier)) {
        packages.add(packageName(specifier));
      } else if (specifier?.startsWith(".")) {
        queue.push(
          resolve(dirname(file), specifier).replace(/\.js$/, ".d.ts"),
        );
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return { files, packages };
}

/** Removes the declaration files not in `keep`; returns how many. */
export async function pruneDeclarations(keep: Set<string>): Promise<number> {
  let removed = 0;
  for await (const file of walk(ESM)) {
    if (file.endsWith(".d.ts") && !keep.has(file)) {
      await Deno.remove(file);
      removed++;
    }
  }
  return removed;
}
