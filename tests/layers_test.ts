/**
 * The architecture as rules a test enforces, read off the module graph that
 * `deno info --json` reports (the imports Deno resolves, type-only ones
 * included), not off comments:
 * - `core/` is pure: it imports only `core/`, `types.ts` and zod;
 * - each layer imports only the layers below it (the table below);
 * - `Deno.` appears only in `server/` and the KV adapter;
 * - the library's public API (`mod.ts`) never reaches `server/`.
 */
import assert from "node:assert/strict";

const SRC = new URL("../src/", import.meta.url);

/**
 * What each folder may import: folders (`core/`), top-level files
 * (`types.ts`) and npm packages (`npm:zod`). A layer may always import itself.
 */
const MAY_IMPORT: Record<string, readonly string[]> = {
  "core/": ["types.ts", "npm:zod"],
  "fronts/": [
    "core/",
    "types.ts",
    "npm:zod",
    "npm:openai",
    "npm:@anthropic-ai/sdk",
  ],
  "upstream/": ["core/", "types.ts", "errors.ts"],
  "state/": ["core/", "types.ts", "errors.ts", "runtime.ts"],
  "ops/": ["state/", "core/", "types.ts", "errors.ts", "options.ts"],
  "http/": [
    "ops/",
    "state/",
    "upstream/",
    "core/",
    "fronts/",
    "router.ts",
    "options.ts",
    "errors.ts",
    "types.ts",
    "version.ts",
  ],
  // The top-level modules the library is made of: never the server, the
  // HTTP front or the operations pages (mod.ts re-exports createHandler, and
  // is checked by its graph below instead).
  "": [
    "core/",
    "upstream/",
    "state/",
    "fronts/",
    "npm:zod",
    // env.ts reads a .env file on Node (Deno reads it with --env-file).
    "node:fs",
    "node:process",
    "npm:openai",
  ],
};
/**
 * Files outside `server/` allowed to reach `Deno` in code: the KV adapter,
 * and the runtime shim (Deno's `unrefTimer`, Node's `unref`).
 */
const DENO_ALLOWED = new Set(["state/kv_store.ts", "runtime.ts"]);
/** `Deno.x`, and the ways around that spelling: `globalThis.Deno`, `globalThis["Deno"]`. */
const DENO_USE =
  /\bDeno\.|globalThis\s*(?:\.\s*Deno\b|\[\s*["'`]Deno["'`]\s*\])|\)\s*\[\s*["'`]Deno["'`]\s*\]/;

interface InfoModule {
  specifier: string;
  dependencies?: Array<{
    specifier: string;
    code?: { specifier: string };
    type?: { specifier: string };
  }>;
}

async function sourceFiles(dir = SRC, prefix = ""): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) {
      files.push(
        ...await sourceFiles(
          new URL(`${entry.name}/`, dir),
          `${prefix}${entry.name}/`,
        ),
      );
    } else if (entry.name.endsWith(".ts")) files.push(`${prefix}${entry.name}`);
  }
  return files.sort();
}

/** `deno info --json` of a module that imports the given files (one run for the whole tree). */
async function graph(files: readonly string[]): Promise<InfoModule[]> {
  const dir = await Deno.makeTempDir();
  try {
    const entry = `${dir}/entry.ts`;
    await Deno.writeTextFile(
      entry,
      files.map((f) => `import "${new URL(f, SRC).href}";`).join("\n"),
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "info",
        "--json",
        "--config",
        new URL("../deno.json", import.meta.url).pathname,
        entry,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    return (JSON.parse(new TextDecoder().decode(out.stdout)) as {
      modules: InfoModule[];
    }).modules;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** `core/candidates.ts` → `core/`; `router.ts` → `""`. */
function layerOf(path: string): string {
  const slash = path.indexOf("/");
  return slash === -1 ? "" : path.slice(0, slash + 1);
}

/** A dependency as the table names it: `core/x.ts`, `router.ts`, `npm:zod`, `node:fs`. */
function targetOf(specifier: string): string | undefined {
  if (specifier.startsWith(SRC.href)) return specifier.slice(SRC.href.length);
  if (specifier.startsWith("npm:")) {
    const name = specifier.slice(4).replace(/^\//, "");
    const at = name.indexOf("@", 1);
    const bare = at === -1 ? name : name.slice(0, at);
    return `npm:${
      bare.split("/").slice(0, bare.startsWith("@") ? 2 : 1).join("/")
    }`;
  }
  if (specifier.startsWith("node:")) return specifier;
  return specifier; // anything else (a URL outside src/) is never allowed
}

function allowed(from: string, to: string): boolean {
  const layer = layerOf(from);
  if (layer === "server/") return true;
  if (
    !to.startsWith("npm:") && !to.startsWith("node:") &&
    layerOf(to) === layer
  ) return true;
  return (MAY_IMPORT[layer] ?? []).some((rule) =>
    rule.endsWith("/") ? to.startsWith(rule) : to === rule
  );
}

/** Every import that breaks the table, as `from → to`. */
export function layerViolations(modules: readonly InfoModule[]): string[] {
  const broken: string[] = [];
  for (const m of modules) {
    const from = targetOf(m.specifier);
    if (from === undefined || !m.specifier.startsWith(SRC.href)) continue;
    if (from === "mod.ts") continue; // checked by its graph
    for (const dep of m.dependencies ?? []) {
      for (const resolved of [dep.code?.specifier, dep.type?.specifier]) {
        if (resolved === undefined) continue;
        const to = targetOf(resolved)!;
        if (!allowed(from, to)) broken.push(`${from} → ${to}`);
      }
    }
  }
  return [...new Set(broken)].sort();
}

/** Code without comments and strings' contents, where `Deno.` would be a use. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(
    /(^|[^:])\/\/.*$/gm,
    "$1",
  );
}

const files = await sourceFiles();
const modules = await graph(files);

Deno.test("layers: every import goes to the same layer or one the table allows (core/ is pure)", () => {
  assert.deepEqual(layerViolations(modules), []);
});

Deno.test("layers: the rule fails an import that breaks it", () => {
  const fake = (from: string, to: string): InfoModule => ({
    specifier: new URL(from, SRC).href,
    dependencies: [{
      specifier: to,
      code: {
        specifier: to.startsWith("node:") ? to : new URL(to, SRC).href,
      },
    }],
  });
  assert.deepEqual(
    layerViolations([
      fake("core/candidates.ts", "state/state.ts"),
      fake("upstream/sse.ts", "http/handler.ts"),
      fake("router.ts", "server/config.ts"),
      fake("core/capabilities.ts", "core/cooldown.ts"),
      fake("router.ts", "node:child_process"),
      fake("env.ts", "node:fs"),
      fake("core/quality.ts", "node:fs"),
    ]),
    [
      "core/quality.ts → node:fs",
      "core/candidates.ts → state/state.ts",
      "router.ts → node:child_process",
      "router.ts → server/config.ts",
      "upstream/sse.ts → http/handler.ts",
    ].sort(),
  );
});

Deno.test("layers: the Deno check sees the ways around `Deno.`", () => {
  for (
    const text of [
      "Deno.env.get('X')",
      "globalThis.Deno?.exit()",
      'globalThis["Deno"]',
      '(globalThis as Record<string, unknown>)["Deno"]',
    ]
  ) assert.ok(DENO_USE.test(text), text);
  assert.ok(!DENO_USE.test("const denomination = 1;"));
});

Deno.test("layers: Deno is reached only in server/, the KV adapter and the runtime shim", async () => {
  const users: string[] = [];
  for (const file of files) {
    if (file.startsWith("server/") || DENO_ALLOWED.has(file)) continue;
    const text = code(await Deno.readTextFile(new URL(file, SRC)));
    if (DENO_USE.test(text)) users.push(file);
  }
  assert.deepEqual(users, []);
});

Deno.test("layers: the library's graph (mod.ts) never reaches server/", async () => {
  const reached = (await graph(["mod.ts"]))
    .map((m) => targetOf(m.specifier))
    .filter((t): t is string => t !== undefined && t.startsWith("server/"));
  assert.deepEqual(reached, []);
});
