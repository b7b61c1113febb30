// The installed package itself: how it resolves, what it exports, and that
// importing it on Node touches no Deno API. No static import of "freerouter"
// here: the Deno trap must be set before the package is first evaluated.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

test("importing the package and building its objects touches no Deno API", async () => {
  const touched = [];
  Object.defineProperty(globalThis, "Deno", {
    configurable: true,
    get() {
      touched.push(new Error("globalThis.Deno was read").stack);
      return undefined;
    },
  });
  try {
    const mod = await import("freerouter");
    const state = new mod.FreeRouterState();
    const client = new mod.FreeRouterClient({ apiKey: "k", state });
    const handler = mod.createHandler({ apiKey: "k", state });
    await client.close();
    await handler.close();
    await state.close();
  } finally {
    delete globalThis.Deno;
  }
  assert.deepEqual(touched, []);
});

test("the package resolves through exports to ESM with types, for Node >= 20", async () => {
  const entry = import.meta.resolve("freerouter");
  assert.match(entry, /\/node_modules\/freerouter\/esm\/mod\.js$/);
  const pkg = JSON.parse(
    await readFile(fileURLToPath(new URL("../package.json", entry)), "utf8"),
  );
  assert.equal(pkg.name, "freerouter");
  assert.equal(pkg.type, "module");
  assert.equal(pkg.engines.node, ">=20.3");
  assert.deepEqual(pkg.exports["."], {
    types: "./esm/mod.d.ts",
    import: "./esm/mod.js",
    default: "./esm/mod.js",
  });
  assert.equal(pkg.types, "./esm/mod.d.ts");
  assert.ok(pkg.dependencies.zod, "zod is a dependency");
  // The SDKs type the fronts' translation only: no user-reachable code or
  // declaration imports them, so installing freerouter must not pull them in.
  for (const sdk of ["openai", "@anthropic-ai/sdk"]) {
    assert.equal(
      pkg.dependencies[sdk],
      undefined,
      `${sdk} is not a dependency`,
    );
  }
  const dts = await readFile(
    fileURLToPath(new URL("./mod.d.ts", entry)),
    "utf8",
  );
  assert.match(dts, /export \{[^}]*FreeRouterClient/);
  assert.doesNotMatch(dts, /from "\.\/[^"]+\.ts"/, "d.ts imports end in .js");
});

test(
  "require() loads the package where Node can require ESM (20.19 and later), and its package.json",
  { skip: !process.features.require_module && "this Node cannot require ESM" },
  () => {
    const require = createRequire(import.meta.url);
    assert.equal(typeof require("freerouter").FreeRouterClient, "function");
    assert.equal(require("freerouter/package.json").name, "freerouter");
  },
);

test("the documented API is exported", async () => {
  const mod = await import("freerouter");
  for (
    const name of [
      "FreeRouterClient",
      "createHandler",
      "FreeRouterState",
      "FreeRouterError",
      "UpstreamHTTPError",
      "buildFreePool",
    ]
  ) {
    assert.equal(typeof mod[name], "function", name);
  }
  const err = new mod.UpstreamHTTPError(
    400,
    '{"error":{"message":"bad","code":400}}',
    [],
  );
  assert.equal(err.message, "OpenRouter answered 400: bad");
  const failure = new mod.FreeRouterError("no_free_models", "none");
  assert.equal(failure.status, 503);
  assert.deepEqual(failure.attempts, []);
});
