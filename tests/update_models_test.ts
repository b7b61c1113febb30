/**
 * scripts/update_models.ts: the pure rendering and marker replacement, and the
 * script end to end (as a subprocess) against the fake OpenRouter.
 */
import assert from "node:assert/strict";
import { freeModel } from "./_harness.ts";
import {
  type ProcessResult,
  runScript as runDenoScript,
} from "./_deno_process.ts";
import { buildFreePool } from "../src/core/free_pool.ts";
import {
  END_MARKER,
  fetchCatalog,
  FetchError,
  MarkerError,
  parseOptions,
  readTableRows,
  renderModelTable,
  replaceBetweenMarkers,
  START_MARKER,
  summarizeChanges,
  UsageError,
} from "../scripts/update_models.ts";
import {
  catalogRow,
  defaultCatalog,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER,
  startFakeOpenRouter,
} from "./fake_openrouter/mod.ts";

const SCRIPT = new URL("../scripts/update_models.ts", import.meta.url).pathname;
const README = new URL("../README.md", import.meta.url);

const model = freeModel;

const THREE = [
  model("qwen/qwen3-coder:free", 1048576),
  model("openai/gpt-oss-20b:free", 131072),
  model("openrouter/free", 200000),
];

const THREE_TABLE = [
  "3 free models.",
  "",
  "| Model ID                | Context   |",
  "| ----------------------- | --------- |",
  "| qwen/qwen3-coder:free   | 1,048,576 |",
  "| openai/gpt-oss-20b:free | 131,072   |",
  "| openrouter/free         | 200,000   |",
].join("\n");

const DOC = [
  "# Title",
  "",
  "Intro text.",
  "",
  START_MARKER,
  "old content",
  END_MARKER,
  "",
  "## After",
  "",
  "Tail text.",
  "",
].join("\n");

// ---------------------------------------------------------------------------
// Pure functions

Deno.test("renderModelTable: count line, blank line, padded table in the given order", () => {
  assert.equal(renderModelTable(THREE), THREE_TABLE);
});

Deno.test("renderModelTable: singular count, short cells padded to the header, pipes escaped", () => {
  assert.equal(
    renderModelTable([model("a|b", 7)]),
    [
      "1 free model.",
      "",
      "| Model ID | Context |",
      "| -------- | ------- |",
      "| a\\|b     | 7       |",
    ].join("\n"),
  );
});

Deno.test("replaceBetweenMarkers: replaces only the block, one blank line each side", () => {
  const out = replaceBetweenMarkers(DOC, THREE_TABLE);
  assert.equal(
    out,
    [
      "# Title",
      "",
      "Intro text.",
      "",
      START_MARKER,
      "",
      THREE_TABLE,
      "",
      END_MARKER,
      "",
      "## After",
      "",
      "Tail text.",
      "",
    ].join("\n"),
  );
});

Deno.test("replaceBetweenMarkers: a second run with the same table changes no byte", () => {
  const once = replaceBetweenMarkers(DOC, THREE_TABLE);
  assert.equal(replaceBetweenMarkers(once, THREE_TABLE), once);
  const other = renderModelTable(THREE.slice(0, 1));
  const changed = replaceBetweenMarkers(once, other);
  assert.notEqual(changed, once);
  assert.equal(replaceBetweenMarkers(changed, THREE_TABLE), once);
});

Deno.test("replaceBetweenMarkers: missing, repeated or reversed markers are a MarkerError", () => {
  const cases: Array<[string, RegExp]> = [
    ["# no markers\n", /no <!-- models:start --> marker/],
    [`${START_MARKER}\nx\n`, /no <!-- models:end --> marker/],
    [`x\n${END_MARKER}\n`, /no <!-- models:start --> marker/],
    [`${END_MARKER}\nx\n${START_MARKER}\n`, /comes before/],
    [`${START_MARKER}\n${START_MARKER}\n${END_MARKER}\n`, /more than one/],
    [`${START_MARKER}\n${END_MARKER}\n${END_MARKER}\n`, /more than one/],
  ];
  for (const [doc, message] of cases) {
    assert.throws(
      () => replaceBetweenMarkers(doc, THREE_TABLE),
      (err: unknown) => err instanceof MarkerError && message.test(err.message),
      doc,
    );
  }
});

Deno.test("README.md's block is exactly what renderModelTable gives for its own rows", async () => {
  const readme = await Deno.readTextFile(README);
  const rows = readTableRows(readme);
  assert.ok(rows.length > 0, "README.md has a model table");
  const pool = rows.map((r) => model(r.id, r.context));
  assert.equal(replaceBetweenMarkers(readme, renderModelTable(pool)), readme);
});

Deno.test("the generated README is already deno fmt clean (CI runs deno fmt --check)", async () => {
  const readme = await Deno.readTextFile(README);
  const pool = buildFreePool([
    ...defaultCatalog(),
    catalogRow({
      id: "x/a-much-longer-model-id-than-any-other-in-the-list:free",
    }),
  ]);
  const generated = replaceBetweenMarkers(readme, renderModelTable(pool));
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext", "md", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(generated));
  await writer.close();
  const out = await child.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(new TextDecoder().decode(out.stdout), generated);
});

Deno.test("readTableRows and summarizeChanges describe what changed", () => {
  const doc = replaceBetweenMarkers(DOC, THREE_TABLE);
  assert.deepEqual(readTableRows(doc), [
    { id: "qwen/qwen3-coder:free", context: 1048576 },
    { id: "openai/gpt-oss-20b:free", context: 131072 },
    { id: "openrouter/free", context: 200000 },
  ]);
  const rows = readTableRows(doc);
  assert.deepEqual(
    summarizeChanges(rows, [
      model("qwen/qwen3-coder:free", 1048576),
      model("openai/gpt-oss-20b:free", 65536),
      model("new/model:free", 8192),
    ]),
    [
      "~ openai/gpt-oss-20b:free: context 131,072 -> 65,536",
      "+ new/model:free (8,192)",
      "- openrouter/free",
    ],
  );
  assert.deepEqual(summarizeChanges(rows, [THREE[1]!, THREE[0]!, THREE[2]!]), [
    "priority order changed",
  ]);
  assert.deepEqual(summarizeChanges(rows, THREE), ["formatting differs"]);
});

Deno.test("parseOptions: defaults, environment, flags and usage errors", () => {
  const none = () => undefined;
  const defaults = parseOptions([], none);
  assert.equal(defaults.check, false);
  assert.equal(defaults.baseUrl, "https://openrouter.ai/api/v1");
  assert.equal(String(defaults.readme), String(README));
  assert.equal(
    parseOptions([], () => "").baseUrl,
    "https://openrouter.ai/api/v1",
    "empty OPENROUTER_BASE_URL counts as unset",
  );
  const env = (key: string) =>
    key === "OPENROUTER_BASE_URL" ? "http://127.0.0.1:9/api/v1//" : undefined;
  assert.equal(parseOptions([], env).baseUrl, "http://127.0.0.1:9/api/v1");
  assert.deepEqual(
    parseOptions(
      ["--check", "--readme", "x.md", "--base-url=http://h/api/"],
      env,
    ),
    { check: true, readme: "x.md", baseUrl: "http://h/api" },
  );
  assert.equal(parseOptions(["--readme=y.md"], none).readme, "y.md");
  for (
    const args of [
      ["--bogus"],
      ["extra"],
      ["--readme"],
      ["--check=yes"],
      ["--base-url", "ftp://h/"],
      ["--base-url", "not a url"],
    ]
  ) {
    assert.throws(() => parseOptions(args, none), UsageError, args.join(" "));
  }
});

// ---------------------------------------------------------------------------
// End to end: the script as a subprocess against the fake OpenRouter

function runScript(
  args: string[],
  env: Record<string, string>,
): Promise<ProcessResult> {
  return runDenoScript(SCRIPT, { args, env });
}

/** A temporary README with markers; removed on dispose. */
async function tempReadme(
  text = DOC,
): Promise<{ path: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "freerouter-readme-" });
  const path = `${dir}/README.md`;
  await Deno.writeTextFile(path, text);
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** The text outside the markers, to check it is never touched. */
function outside(doc: string): string {
  const start = doc.indexOf(START_MARKER) + START_MARKER.length;
  return doc.slice(0, start) + doc.slice(doc.indexOf(END_MARKER));
}

function assertNoStack(stderr: string): void {
  assert.doesNotMatch(stderr, /\bat .*\.ts:\d+/, "no stack trace");
  assert.doesNotMatch(stderr, /error: Uncaught/);
}

Deno.test("update-models writes the default catalog's pool in priority order; --check then passes", async () => {
  await using fake = startFakeOpenRouter({ models: defaultCatalog() });
  await using readme = await tempReadme();
  const env = { OPENROUTER_BASE_URL: fake.baseUrl };

  const first = await runScript(["--readme", readme.path], env);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stderr, "");
  assert.match(
    first.stdout,
    new RegExp(`wrote ${FREE_CHAT_IDS_IN_PRIORITY_ORDER.length} free models`),
  );
  const written = await Deno.readTextFile(readme.path);
  assert.equal(outside(written), outside(DOC));
  const rows = readTableRows(written);
  assert.deepEqual(rows.map((r) => r.id), FREE_CHAT_IDS_IN_PRIORITY_ORDER);
  const pool = buildFreePool(defaultCatalog());
  assert.deepEqual(
    rows.map((r) => r.context),
    pool.map((m) => m.context_length),
  );
  assert.match(
    written,
    new RegExp(
      `${START_MARKER}\n\n${FREE_CHAT_IDS_IN_PRIORITY_ORDER.length} free models\\.\n\n\\| Model ID +\\| Context +\\|\n`,
    ),
  );
  assert.equal(written, replaceBetweenMarkers(DOC, renderModelTable(pool)));

  const models = fake.modelsRequests();
  assert.equal(models.length, 1);
  assert.equal(models[0]!.method, "GET");
  assert.equal(
    models[0]!.headers.get("authorization"),
    null,
    "no key, no auth",
  );

  const check = await runScript(["--readme", readme.path, "--check"], env);
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stdout, /is up to date/);

  const again = await runScript(["--readme", readme.path], env);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(await Deno.readTextFile(readme.path), written, "byte-stable");
});

Deno.test("update-models applies the pool rules: paid, image-output and malformed rows are left out", async () => {
  const paid = catalogRow({ id: "openai/gpt-4o" });
  paid.pricing = { prompt: "0.0000025", completion: "0.00001" };
  const imageOut = catalogRow({ id: "google/image-maker:free" });
  imageOut.architecture = {
    modality: "text->text+image",
    input_modalities: ["text"],
    output_modalities: ["text", "image"],
    tokenizer: "Gemini",
    instruct_type: null,
  };
  const models = [
    catalogRow({ id: "small/model", context_length: 8192 }),
    paid,
    { id: "broken/row:free", pricing: { prompt: "0", completion: "0" } },
    "not an object",
    imageOut,
    catalogRow({ id: "big/model:free", context_length: 262144 }),
    catalogRow({ id: "a/model:free", context_length: 32768 }),
  ];
  await using fake = startFakeOpenRouter({ models });
  await using readme = await tempReadme();
  const result = await runScript(["--readme", readme.path], {
    OPENROUTER_BASE_URL: fake.baseUrl,
  });
  assert.equal(result.code, 0, result.stderr);
  const written = await Deno.readTextFile(readme.path);
  assert.equal(
    written,
    replaceBetweenMarkers(
      DOC,
      [
        "3 free models.",
        "",
        "| Model ID       | Context |",
        "| -------------- | ------- |",
        "| big/model:free | 262,144 |",
        "| a/model:free   | 32,768  |",
        "| small/model    | 8,192   |",
      ].join("\n"),
    ),
  );
});

Deno.test("update-models --check exits 1 with a reason and a summary once the catalog changes", async () => {
  await using fake = startFakeOpenRouter({ models: defaultCatalog() });
  await using readme = await tempReadme();
  const env = { OPENROUTER_BASE_URL: fake.baseUrl };
  assert.equal((await runScript(["--readme", readme.path], env)).code, 0);
  const fresh = await Deno.readTextFile(readme.path);

  const [gone] = FREE_CHAT_IDS_IN_PRIORITY_ORDER;
  fake.models = fake.models.filter((row) =>
    (row as { id?: unknown }).id !== gone
  );
  fake.models.push(catalogRow({ id: "new/model:free", context_length: 4096 }));

  const check = await runScript(["--check", "--readme", readme.path], env);
  assert.equal(check.code, 1);
  assertNoStack(check.stderr);
  const lines = check.stderr.trimEnd().split("\n");
  assert.match(lines[0]!, /^update-models: .*README\.md is stale: /);
  assert.deepEqual(lines.slice(1).map((l) => l.trim()).sort(), [
    `+ new/model:free (4,096)`,
    `- ${gone}`,
  ]);
  assert.equal(
    await Deno.readTextFile(readme.path),
    fresh,
    "--check never writes",
  );

  const write = await runScript(["--readme", readme.path], env);
  assert.equal(write.code, 0, write.stderr);
  const rows = readTableRows(await Deno.readTextFile(readme.path));
  assert.deepEqual(
    rows.map((r) => r.id),
    buildFreePool(fake.models).map((m) => m.id),
  );
  assert.ok(rows.some((r) => r.id === "new/model:free"));
  assert.ok(!rows.some((r) => r.id === gone));
  assert.equal(
    (await runScript(["--check", "--readme", readme.path], env)).code,
    0,
  );
});

Deno.test("update-models: upstream 500 exits 1 with one line and leaves the README untouched", async () => {
  await using fake = startFakeOpenRouter();
  await using readme = await tempReadme();
  fake.scriptModels(
    {
      status: 500,
      body: { error: { message: "Internal Server Error", code: 500 } },
    },
    {
      status: 500,
      body: { error: { message: "Internal Server Error", code: 500 } },
    },
  );
  for (
    const args of [["--readme", readme.path], [
      "--check",
      "--readme",
      readme.path,
    ]]
  ) {
    const result = await runScript(args, { OPENROUTER_BASE_URL: fake.baseUrl });
    assert.equal(result.code, 1, args.join(" "));
    assert.equal(result.stdout, "");
    assert.equal(
      result.stderr,
      `update-models: GET ${fake.baseUrl}/models answered 500\n`,
    );
    assert.equal(await Deno.readTextFile(readme.path), DOC);
  }
});

Deno.test("update-models: unreachable upstream, bad JSON and an empty pool exit 1 without writing", async () => {
  await using fake = startFakeOpenRouter({
    models: [
      catalogRow({
        id: "openai/gpt-4o",
        pricing: { prompt: "1", completion: "1" },
      }),
    ],
  });
  await using readme = await tempReadme();
  fake.scriptModels({ reset: true }, { body: "<html>oops</html>" }, {
    body: { nope: [] },
  });
  const env = { OPENROUTER_BASE_URL: fake.baseUrl };
  const expected = [
    /^update-models: GET \S+\/models failed: /,
    /^update-models: GET \S+\/models answered a body that is not JSON: /,
    /^update-models: GET \S+\/models answered without a data array$/,
    /^update-models: \S+\/models listed no free chat model; .* left as is$/,
  ];
  for (const pattern of expected) {
    const result = await runScript(["--readme", readme.path], env);
    assert.equal(result.code, 1);
    assertNoStack(result.stderr);
    const lines = result.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0]!, pattern);
  }
  assert.equal(await Deno.readTextFile(readme.path), DOC);
});

Deno.test("fetchCatalog gives up after its timeout with a one-line FetchError", async () => {
  await using fake = startFakeOpenRouter();
  fake.scriptModels({ hang: true });
  await assert.rejects(
    fetchCatalog(fake.baseUrl, undefined, 50),
    (err: unknown) =>
      err instanceof FetchError &&
      err.message === `GET ${fake.baseUrl}/models timed out after 0.05 s`,
  );
  assert.equal(fake.modelsRequests().length, 1);
  await fake.modelsRequests()[0]!.aborted;
});

Deno.test("update-models sends OPENROUTER_API_KEY as a Bearer token, and --base-url wins over the environment", async () => {
  await using fake = startFakeOpenRouter();
  await using readme = await tempReadme();
  const result = await runScript(
    ["--base-url", fake.baseUrl, "--readme", readme.path],
    {
      OPENROUTER_BASE_URL: "http://127.0.0.1:9/unused",
      OPENROUTER_API_KEY: "sk-or-v1-test-key",
    },
  );
  assert.equal(result.code, 0, result.stderr);
  assert.equal(
    fake.modelsRequests()[0]?.headers.get("authorization"),
    "Bearer sk-or-v1-test-key",
  );
});

Deno.test("update-models: usage errors exit 2 before any request", async () => {
  await using fake = startFakeOpenRouter();
  await using readme = await tempReadme();
  await using noMarkers = await tempReadme("# README without markers\n");
  const env = { OPENROUTER_BASE_URL: fake.baseUrl };
  const cases: Array<[string[], RegExp]> = [
    [["--readme", readme.path, "--bogus"], /unknown argument "--bogus"/],
    [["--readme"], /--readme needs a value/],
    [
      ["--readme", noMarkers.path],
      /README\.md: no <!-- models:start --> marker/,
    ],
    [["--readme", `${readme.path}.missing`], /cannot read .*\.missing: /],
  ];
  for (const [args, message] of cases) {
    const result = await runScript(args, env);
    assert.equal(result.code, 2, args.join(" "));
    assert.match(result.stderr, message);
    assertNoStack(result.stderr);
  }
  const badUrl = await runScript(["--readme", readme.path], {
    OPENROUTER_BASE_URL: "ftp://nope",
  });
  assert.equal(badUrl.code, 2);
  assert.match(badUrl.stderr, /not an http\(s\) URL: "ftp:\/\/nope"/);
  assert.equal(fake.modelsRequests().length, 0);
  assert.equal(await Deno.readTextFile(readme.path), DOC);
  assert.equal(
    await Deno.readTextFile(noMarkers.path),
    "# README without markers\n",
  );
});
