/**
 * What every step of the npm build shares: the paths, the build's error, and
 * running a command (npm, node, deno) with its output shown only on failure.
 *
 * @module
 */
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository. */
export const ROOT = fileURLToPath(new URL("..", import.meta.url)).replace(
  /\/$/,
  "",
);
export const SRC = join(ROOT, "src");
/** The package as it is published. */
export const OUT = join(ROOT, "npm");
/** The compiled library inside the package. */
export const ESM = join(OUT, "esm");
/** Scratch space: the build's tools, the tarball, the consumer project. */
export const SCRATCH = join(ROOT, ".npm-build");
/** TypeScript, the type declarations the build needs, and its tsconfig.json. */
export const TOOLS = join(SCRATCH, "tools");

/** A build failure with a message meant for the person running the build. */
export class BuildError extends Error {
  override name = "BuildError";
}

/** A path relative to the repository, for messages. */
export const rel = (path: string) => relative(ROOT, path) || ".";

export async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await Deno.readTextFile(path)) as T;
}

export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

export async function removeIfPresent(path: string): Promise<void> {
  await Deno.remove(path, { recursive: true }).catch((err) => {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  });
}

/** Every file under `dir`, recursively. */
export async function* walk(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* walk(path);
    else if (entry.isFile) yield path;
  }
}

/** Runs a command; throws {@link BuildError} with its output when it fails. */
export async function run(
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
export function npm(args: string[], cwd: string): Promise<string> {
  return run("npm", [...args, "--no-audit", "--no-fund"], { cwd, quiet: true });
}
