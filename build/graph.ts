/**
 * The library's module graph, as `deno info --json` reports it: the files
 * `src/mod.ts` reaches, and the npm packages they import, mapped to npm
 * dependencies through deno.json's `imports`. Fails when the graph leaves
 * src/, reaches src/server/ (the Deno server), or imports what an npm
 * package cannot depend on (JSR, URLs).
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { join, relative } from "node:path";
import { BuildError, rel, ROOT, run, SRC } from "./util.ts";

/** The entry point of the library: never src/server/. */
export const ENTRY = join(SRC, "mod.ts");

/** An npm dependency of the library: the bare specifier names the package. */
export interface Dependency {
  name: string;
  /** The semver range from deno.json, which goes into package.json. */
  range: string;
  /** The version Deno resolved (deno.lock), used to type-check the build. */
  locked: string | undefined;
  /**
   * Imported for types only (`import type`): the build needs it, the package
   * only when a declaration a user can reach imports it (see build/check.ts).
   */
  typeOnly: boolean;
}

/** The library's graph. */
export interface Graph {
  /** The source files, absolute paths. */
  files: string[];
  dependencies: Dependency[];
}

/** The parts of `deno info --json` the build reads. */
interface DenoInfo {
  modules: {
    kind?: string;
    specifier: string;
    error?: string;
    npmPackage?: string;
    dependencies?: {
      specifier: string;
      code?: { specifier?: string; error?: string };
      type?: { specifier?: string; error?: string };
    }[];
  }[];
}

/** `zod/mini` → `zod`, `@scope/pkg/sub` → `@scope/pkg`. */
export function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

/** A specifier that Node resolves from node_modules (`zod`, `openai/x`). */
export function isBare(specifier: string): boolean {
  return !specifier.startsWith(".") && !specifier.startsWith("/") &&
    !/^[a-z][a-z0-9+.-]*:/i.test(specifier);
}

/** What `entry` reaches, and its npm dependencies. */
export async function libraryGraph(
  entry: string,
  imports: Record<string, string>,
): Promise<Graph> {
  const info = JSON.parse(
    await run(Deno.execPath(), ["info", "--json", entry], {
      cwd: ROOT,
      quiet: true,
    }),
  ) as DenoInfo;
  const problems: string[] = [];
  const files: string[] = [];
  const bare = new Map<string, string>();
  /** Packages some module imports as code, not only for its types. */
  const asCode = new Set<string>();
  const locked = new Map<string, string>();
  for (const m of info.modules) {
    if (m.kind === "node") continue;
    if (m.kind === "npm" && m.npmPackage) {
      // "name@version", or "name@version_peer@version" with peers.
      const id = m.npmPackage.split("_")[0]!;
      const at = id.lastIndexOf("@");
      locked.set(id.slice(0, at), id.slice(at + 1));
      continue;
    }
    if (!m.specifier.startsWith("file:")) {
      problems.push(
        `${m.specifier}: only local files, node: and npm packages (mapped in deno.json) can be built for npm`,
      );
      continue;
    }
    const file = fileURLToPath(m.specifier);
    if (m.error) problems.push(`${rel(file)}: ${m.error}`);
    const inSrc = relative(SRC, file);
    if (inSrc.startsWith("..")) problems.push(`${rel(file)} is outside src/`);
    else if (inSrc.startsWith(`server/`)) {
      problems.push(
        `${
          rel(file)
        } is in src/server/, the Deno server; the library must not reach it`,
      );
    }
    files.push(file);
    for (const dep of m.dependencies ?? []) {
      const error = dep.code?.error ?? dep.type?.error;
      if (error) {
        problems.push(`${rel(file)} imports "${dep.specifier}": ${error}`);
      }
      if (isBare(dep.specifier)) {
        if (!bare.has(dep.specifier)) bare.set(dep.specifier, file);
        if (dep.code) asCode.add(packageName(dep.specifier));
      }
    }
  }
  const dependencies = new Map<string, Dependency>();
  for (const [specifier, importer] of bare) {
    const name = packageName(specifier);
    const where = `${rel(importer)} imports "${specifier}"`;
    const target = imports[specifier] ?? imports[name];
    const match = target &&
      /^npm:(@?[^@/]+(?:\/[^@/]+)?)@([^/]+)$/.exec(target);
    if (!match) {
      problems.push(
        target === undefined
          ? `${where}, which deno.json's imports do not map`
          : `${where}, mapped to "${target}": an npm build needs "npm:<name>@<range>" (JSR and URL imports cannot become npm dependencies)`,
      );
    } else if (match[1] !== name) {
      problems.push(
        `${where}, mapped to the package ${
          match[1]
        }: Node resolves the specifier itself, so it must name the package`,
      );
    } else {
      dependencies.set(name, {
        name,
        range: match[2]!,
        locked: locked.get(name),
        typeOnly: !asCode.has(name),
      });
    }
  }
  if (problems.length > 0) {
    throw new BuildError(
      `${rel(entry)} cannot be built for npm:\n  ${problems.join("\n  ")}`,
    );
  }
  return {
    files: files.sort(),
    dependencies: [...dependencies.values()].sort((a, b) =>
      a.name < b.name ? -1 : 1
    ),
  };
}
