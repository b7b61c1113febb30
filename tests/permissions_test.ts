/**
 * The permissions the server asks for: the narrowest that work, no native
 * code, and the environment it may read equal to the variables it reads.
 */
import assert from "node:assert/strict";
import { ENV_KEYS } from "../src/server/config.ts";

const config = JSON.parse(
  await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
) as { tasks: Record<string, string> };

/** The permission and V8 flags of a task (`--allow-…`, `--v8-flags…`). */
function flagsOf(task: string): string[] {
  return config.tasks[task]!.split(/\s+/).filter((w) =>
    /^--(allow|deny|v8-flags|no-prompt)/.test(w)
  );
}

for (const task of ["start", "compile"]) {
  Deno.test(`deno task ${task} asks for net, the variables freerouter reads, read and write, and never prompts (a permission given up stays given up); no FFI, no V8 flags`, () => {
    const flags = flagsOf(task);
    const env = flags.find((f) => f.startsWith("--allow-env"));
    assert.ok(
      env?.startsWith("--allow-env="),
      `${task}: --allow-env names its variables`,
    );
    assert.deepEqual(
      env!.slice("--allow-env=".length).split(",").sort(),
      [...ENV_KEYS].sort(),
    );
    assert.deepEqual(
      flags.filter((f) => f !== env).sort(),
      ["--allow-net", "--allow-read", "--allow-write", "--no-prompt"],
    );
  });
}

Deno.test(".env.example and the README's configuration table name every setting freerouter reads, and nothing else", async () => {
  const example = await Deno.readTextFile(
    new URL("../.env.example", import.meta.url),
  );
  const listed = [...example.matchAll(/^#? ?([A-Z][A-Z0-9_]*)=/gm)].map((m) =>
    m[1]!
  );
  assert.deepEqual(listed.sort(), [...ENV_KEYS].sort());
  const readme = await Deno.readTextFile(
    new URL("../README.md", import.meta.url),
  );
  const table = readme.split("\n").filter((l) => /^\| `[A-Z]/.test(l)).flatMap(
    (l) =>
      [...l.split("|")[1]!.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]!),
  );
  assert.deepEqual(table.sort(), [...ENV_KEYS].sort());
});

Deno.test("no source file loads native code", async () => {
  const offenders: string[] = [];
  const walk = async (dir: URL) => {
    for await (const entry of Deno.readDir(dir)) {
      const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
      if (entry.isDirectory) await walk(url);
      else if (entry.name.endsWith(".ts")) {
        const text = await Deno.readTextFile(url);
        if (/Deno\.dlopen|allow-ffi|expose-gc/.test(text)) {
          offenders.push(url.pathname);
        }
      }
    }
  };
  await walk(new URL("../src/", import.meta.url));
  assert.deepEqual(offenders, []);
});

Deno.test("the release workflow compiles with the flags of deno task compile", async () => {
  const workflow = await Deno.readTextFile(
    new URL("../.github/workflows/release.yml", import.meta.url),
  );
  const line = /^\s*deno compile (.*)$/m.exec(workflow)?.[1] ?? "";
  const flags = line.split(/\s+/).filter((w) =>
    /^--(allow|deny|v8-flags|no-prompt)/.test(w)
  );
  assert.deepEqual(flags, flagsOf("compile"));
});
