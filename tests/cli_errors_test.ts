/**
 * What the freerouter command says when something around it fails: `check`
 * against a `/key` that does not say the tier or cannot answer, an
 * unreachable OpenRouter, an address already in use, a client key that is
 * FREEROUTER_API_KEY, a stray quote in the OpenRouter key. Exit codes are
 * checked in-process and through the real start command.
 */
import assert from "node:assert/strict";
import { run } from "../src/server/main.ts";
import { CHECK_NOT_ANSWERED } from "../src/server/cli_commands.ts";
import { loadClientKeys } from "../src/server/client_keys_file.ts";
import { ConfigError } from "../src/server/config.ts";
import {
  withoutCredentials,
  withoutUrlCredentials,
} from "../src/core/secrets.ts";
import { failedRequestError, getText } from "../src/upstream/get_text.ts";
import { denoProcess, MAIN, runScript, startMain } from "./_deno_process.ts";
import { kvLocation } from "../src/server/serve.ts";
import { within } from "./_async.ts";
import { captureIo } from "./_harness.ts";
import { errorStatus, startFakeOpenRouter } from "./fake_openrouter/mod.ts";

const KEY = "sk-or-v1-cli-errors-secret";
const ACCESS = "fr-cli-errors-access-key";

/** `freerouter check` against the fake at `baseUrl`: its exit code and lines. */
async function check(baseUrl: string, extra: Record<string, string> = {}) {
  const c = captureIo();
  const code = await run(["check"], {
    OPENROUTER_API_KEY: KEY,
    OPENROUTER_BASE_URL: baseUrl,
    FREEROUTER_KV_PATH: ":memory:",
    ...extra,
  }, c.io);
  return {
    code,
    out: c.out,
    err: c.err,
    text: c.out.join("\n"),
    errText: c.err.join("\n"),
  };
}

/** A temporary working directory (no stray `.env`), removed on dispose. */
async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "freerouter_cli_errors_" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

/**
 * Runs the start command (serve) to its exit, or until it listens, when it is
 * stopped: a start that must fail never hangs the test when it does not.
 */
async function startToExit(
  env: Record<string, string>,
  cwd: string,
): Promise<{ code: number; stderr: string; listening: boolean }> {
  const child = denoProcess(MAIN, { env, cwd });
  await child.stdout.cancel();
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let stderr = "";
  let listening = false;
  for (;;) {
    const { done, value } = await lines.read();
    if (done) break;
    stderr += value;
    if (!listening && /listening on /.test(stderr)) {
      listening = true;
      child.kill("SIGTERM");
    }
  }
  const { code } = await child.status;
  return { code, stderr, listening };
}

/** A loopback port nothing listens on. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

Deno.test("run() check says the tier is unknown when /key answers 200 without a boolean is_free_tier", async () => {
  for (const isFreeTier of [undefined, "yes", null]) {
    await using fake = startFakeOpenRouter({
      key: { is_free_tier: isFreeTier },
    });
    const { code, err, text } = await check(fake.baseUrl);
    assert.equal(code, 0, err.join());
    assert.match(
      text,
      /^Tier: +unknown \(\/key did not report is_free_tier\)$/m,
      String(isFreeTier),
    );
    assert.doesNotMatch(text, /paid|credits purchased|1,?000/);
  }
});

Deno.test("run() check says the tier is unknown and exits 1 (not checked) when /key answers 200 with a body that is not OpenRouter's report", async () => {
  await using fake = startFakeOpenRouter();
  fake.scriptKey({
    headers: { "content-type": "text/html" },
    body: "<html>maintenance</html>",
  });
  const { code, text, errText } = await check(fake.baseUrl);
  assert.equal(code, 1, text);
  assert.match(text, /^Tier: +unknown \(\/key's answer is not JSON\)$/m);
  assert.match(text, /^Credit limit: +not reported$/m);
  assert.match(
    errText,
    /answered 200 without OpenRouter's key report \(is OPENROUTER_BASE_URL right\?\); the key was not checked$/,
  );
  assert.doesNotMatch(text, /paid|credits purchased|1,?000/);
});

Deno.test("run() check exits 75 without calling the key rejected when /key answers a 5xx or 429", async () => {
  await using fake = startFakeOpenRouter();
  const cases: Array<[number, RegExp]> = [
    [500, /\(500: Internal Server Error\)/],
    [503, /\(503: Service Unavailable\)/],
    [429, /\(429: Rate limit exceeded\)/],
  ];
  for (const [status, shown] of cases) {
    fake.scriptKey(
      status === 429
        ? errorStatus(429, "Rate limit exceeded")
        : { status, body: "" },
    );
    const { code, text: out, errText: text } = await check(fake.baseUrl);
    assert.equal(out, "", "nothing on stdout");
    assert.equal(code, CHECK_NOT_ANSWERED, `${status}: ${text}`);
    assert.equal(CHECK_NOT_ANSWERED, 75);
    assert.match(
      text,
      new RegExp(
        `^OpenRouter could not answer GET ${fake.baseUrl}/key \\(${status}: `,
      ),
    );
    assert.match(text, shown);
    assert.match(text, /the key was not checked/);
    assert.doesNotMatch(text, /rejected/);
    assert.ok(!text.includes(KEY), text);
  }
});

Deno.test("run() check calls only a 401 or 403 a rejection, and keeps the key out of a /key error that quotes it", async () => {
  await using fake = startFakeOpenRouter();
  const env = {
    OPENROUTER_API_KEY: KEY,
    OPENROUTER_BASE_URL: fake.baseUrl,
    FREEROUTER_KV_PATH: ":memory:",
  };
  fake.scriptKey(errorStatus(403, `Key ${KEY} is disabled`));
  const forbidden = captureIo();
  assert.equal(await run(["check"], env, forbidden.io), 1);
  assert.deepEqual(forbidden.out, []);
  assert.deepEqual(forbidden.err, [
    "OpenRouter rejected the key (403: Key [redacted] is disabled)",
  ]);
  fake.scriptKey(errorStatus(404, "Not Found"));
  const missing = captureIo();
  assert.equal(await run(["check"], env, missing.io), 1);
  assert.deepEqual(missing.err, [
    `OpenRouter answered GET ${fake.baseUrl}/key with 404: Not Found; the key was not checked`,
  ]);
  fake.scriptKey(errorStatus(503, `overloaded (key ${KEY})`));
  const down = captureIo();
  assert.equal(await run(["check"], env, down.io), CHECK_NOT_ANSWERED);
  assert.deepEqual(down.err, [
    `OpenRouter could not answer GET ${fake.baseUrl}/key (503: overloaded (key [redacted])); the key was not checked, try again later`,
  ]);
});

Deno.test("run() check exits 75 when /key does not answer within REQUEST_TIMEOUT", async () => {
  await using fake = startFakeOpenRouter();
  fake.scriptKey({ hang: true });
  const { code, err } = await check(fake.baseUrl, { REQUEST_TIMEOUT: "0.2" });
  assert.equal(code, CHECK_NOT_ANSWERED, err.join());
  assert.deepEqual(err, [
    `Could not reach OpenRouter: GET ${fake.baseUrl}/key failed (no answer within 0.2 s); the key was not checked, try again later`,
  ]);
});

Deno.test("freerouter check (the start command) exits 75 on a /key 5xx and 1 on a 401", async () => {
  await using dir = await tempDir();
  await using fake = startFakeOpenRouter();
  fake.scriptKey({ status: 502, body: "" });
  const env = {
    OPENROUTER_BASE_URL: fake.baseUrl,
    FREEROUTER_KV_PATH: ":memory:",
  };
  const down = await runScript(MAIN, {
    args: ["check"],
    env: { ...env, OPENROUTER_API_KEY: KEY },
    cwd: dir.path,
  });
  assert.equal(down.code, 75, down.stdout + down.stderr);
  assert.match(
    down.stderr,
    /OpenRouter could not answer GET \S+\/key \(502: Bad Gateway\); the key was not checked/,
  );
  assert.ok(!(down.stdout + down.stderr).includes(KEY));
  const rejected = await runScript(MAIN, {
    args: ["check"],
    env: { ...env, OPENROUTER_API_KEY: "not-a-real-key" },
    cwd: dir.path,
  });
  assert.equal(rejected.code, 1, rejected.stdout + rejected.stderr);
  assert.match(
    rejected.stderr,
    /OpenRouter rejected the key \(401: User not found\.\)/,
  );
});

Deno.test("run() models and check name the base URL (without its credentials) when OpenRouter is unreachable", async () => {
  const port = closedPort();
  const models = captureIo();
  assert.equal(
    await run(["models"], {
      OPENROUTER_API_KEY: KEY,
      OPENROUTER_BASE_URL:
        `http://user:gateway-password@127.0.0.1:${port}/api/v1`,
      FREEROUTER_KV_PATH: ":memory:",
    }, models.io),
    1,
  );
  const said = models.err.join("\n");
  assert.match(
    said,
    new RegExp(
      `^freerouter: Cannot load the free model list from http://127\\.0\\.0\\.1:${port}/api/v1: .*Connection refused`,
    ),
  );
  assert.ok(!said.includes("gateway-password"), said);
  assert.ok(!said.includes(KEY), said);
  const check = captureIo();
  assert.equal(
    await run(["check"], {
      OPENROUTER_API_KEY: KEY,
      OPENROUTER_BASE_URL: `http://127.0.0.1:${port}/api/v1`,
      FREEROUTER_KV_PATH: ":memory:",
    }, check.io),
    CHECK_NOT_ANSWERED,
  );
  const text = check.err.join("\n");
  assert.match(
    text,
    new RegExp(
      `^Could not reach OpenRouter: GET http://127\\.0\\.0\\.1:${port}/api/v1/key failed \\(.*Connection refused.*\\); the key was not checked`,
    ),
  );
  assert.ok(!text.includes(KEY), text);
});

Deno.test("run() models says the catalog did not answer in time, not that a signal was aborted", async () => {
  await using fake = startFakeOpenRouter();
  fake.scriptModels({ hang: true });
  const models = captureIo();
  assert.equal(
    await run(["models"], {
      OPENROUTER_API_KEY: KEY,
      OPENROUTER_BASE_URL: fake.baseUrl,
      FREEROUTER_KV_PATH: ":memory:",
      REQUEST_TIMEOUT: "1",
    }, models.io),
    1,
  );
  const said = models.err.join("\n");
  assert.match(said, /GET \/models: no answer within 1 s/);
  assert.doesNotMatch(said, /signal has been aborted/);
});

Deno.test("getText() with a signal that has already aborted sends no request and rejects with its reason", async () => {
  await using fake = startFakeOpenRouter();
  const closed = new AbortController();
  const reason = new Error("The router is closed");
  closed.abort(reason);
  await assert.rejects(
    () =>
      getText(
        { baseUrl: fake.baseUrl, fetch, requestTimeoutMs: 600_000 },
        "/models",
        KEY,
        closed.signal,
      ),
    (err: Error) => err.message === reason.message,
  );
  assert.equal(fake.modelsRequests().length, 0);
});

Deno.test("freerouter models and check (the start command) name the base URL when OpenRouter is unreachable", async () => {
  await using dir = await tempDir();
  const base = `http://127.0.0.1:${closedPort()}/api/v1`;
  const env = {
    OPENROUTER_API_KEY: KEY,
    OPENROUTER_BASE_URL: base,
    FREEROUTER_KV_PATH: ":memory:",
  };
  const models = await runScript(MAIN, {
    args: ["models"],
    env,
    cwd: dir.path,
  });
  assert.equal(models.code, 1, models.stderr);
  assert.ok(
    models.stderr.includes(
      `freerouter: Cannot load the free model list from ${base}: `,
    ),
    models.stderr,
  );
  assert.ok(!models.stderr.includes(KEY), models.stderr);
  const check = await runScript(MAIN, { args: ["check"], env, cwd: dir.path });
  assert.equal(check.code, 75, check.stdout + check.stderr);
  assert.ok(
    check.stderr.includes(`Could not reach OpenRouter: GET ${base}/key failed`),
    check.stderr,
  );
  assert.ok(!(check.stdout + check.stderr).includes(KEY));
});

Deno.test("freerouter (the start command) names the host and port it cannot listen on", async () => {
  await using dir = await tempDir();
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = taken.addr as Deno.NetAddr;
  const result = await startToExit({
    HOST: "127.0.0.1",
    PORT: String(port),
    OPENROUTER_BASE_URL: `http://127.0.0.1:${closedPort()}/api/v1`,
    FREEROUTER_KV_PATH: ":memory:",
  }, dir.path);
  assert.equal(result.listening, false, result.stderr);
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    result.stderr,
    new RegExp(
      `freerouter: Cannot listen on 127\\.0\\.0\\.1:${port}: Address already in use`,
    ),
  );
});

Deno.test("freerouter (the start command) with LOG_FORMAT=json ends a failed start with one JSON line, as its log: a bad setting (exit 2) and a port in use (exit 1)", async () => {
  await using dir = await tempDir();
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = taken.addr as Deno.NetAddr;
  const base = {
    HOST: "127.0.0.1",
    OPENROUTER_BASE_URL: `http://127.0.0.1:${closedPort()}/api/v1`,
    FREEROUTER_KV_PATH: ":memory:",
    LOG_FORMAT: "json",
  };
  for (
    const [env, code, msg] of [
      [
        { MAX_ATTEMPTS: "0" },
        2,
        /^freerouter: Invalid configuration: MAX_ATTEMPTS/,
      ],
      [{ PORT: String(port) }, 1, /^freerouter: Cannot listen on 127\.0\.0\.1/],
    ] as const
  ) {
    const result = await startToExit({ ...base, ...env }, dir.path);
    assert.equal(result.code, code, result.stderr);
    const lines = result.stderr.trim().split("\n").filter((l) =>
      !l.startsWith("Task ") // deno task's own banner, when run through it
    );
    for (const line of lines) JSON.parse(line); // every line is JSON
    const last = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
    assert.equal(last.level, "error");
    assert.match(String(last.msg), msg);
  }
});

/** Writes a client keys file whose client "ci" has `key`; returns its path. */
async function clientKeysFile(dir: string, key: string): Promise<string> {
  const path = `${dir}/clients.json`;
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      clients: [{ name: "alice", key: "fr-alice-0123456789" }, {
        name: "ci",
        key,
      }],
    }),
  );
  return path;
}

Deno.test("loadClientKeys() refuses a client key equal to FREEROUTER_API_KEY with a ConfigError naming the entry, not the key", async () => {
  await using dir = await tempDir();
  const path = await clientKeysFile(dir.path, ACCESS);
  assert.equal((await loadClientKeys(path, "fr-another-key-42")).length, 2);
  await assert.rejects(() => loadClientKeys(path, ACCESS), (err: Error) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(
      err.message,
      `Invalid configuration: FREEROUTER_CLIENT_KEYS file ${path}: clients[1] ("ci") has the same key as FREEROUTER_API_KEY (give each its own key)`,
    );
    return true;
  });
});

Deno.test("run() and the start command stop with exit 2 when a client key is FREEROUTER_API_KEY, naming the file, without either key", async () => {
  await using dir = await tempDir();
  const path = await clientKeysFile(dir.path, ACCESS);
  const env = {
    FREEROUTER_CLIENT_KEYS: path,
    FREEROUTER_API_KEY: ACCESS,
    OPENROUTER_API_KEY: KEY,
    OPENROUTER_BASE_URL: `http://127.0.0.1:${closedPort()}/api/v1`,
    FREEROUTER_KV_PATH: ":memory:",
    PORT: "0",
  };
  const expected =
    `freerouter: Invalid configuration: FREEROUTER_CLIENT_KEYS file ${path}: clients[1] ("ci") has the same key as FREEROUTER_API_KEY`;
  const c = captureIo();
  assert.equal(await run([], env, c.io), 2, c.err.join());
  assert.ok(c.err.join().startsWith(expected), c.err.join());
  const result = await startToExit(env, dir.path);
  assert.equal(result.listening, false, result.stderr);
  assert.equal(result.code, 2, result.stderr);
  assert.ok(result.stderr.startsWith(expected), result.stderr);
  assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
  for (const secret of [ACCESS, KEY]) {
    assert.ok(!result.stderr.includes(secret), result.stderr);
    assert.ok(!c.err.join().includes(secret), c.err.join());
  }
});

Deno.test("the start command stops with exit 2 on an OpenRouter key with a stray quote from .env, without showing it", async () => {
  for (
    const line of [
      'OPENROUTER_API_KEY="sk-or-v1-abc',
      "OPENROUTER_API_KEY='sk-or-v1-abc",
      "OPENROUTER_API_KEY=`sk-or-v1-abc`",
      'OPENROUTER_API_KEY=sk-or-v1-abc"',
    ]
  ) {
    await using dir = await tempDir();
    await Deno.writeTextFile(
      `${dir.path}/.env`,
      `${line}\nFREEROUTER_KV_PATH=:memory:\nOPENROUTER_BASE_URL=http://127.0.0.1:${closedPort()}/api/v1\n`,
    );
    const result = await startToExit({ PORT: "0" }, dir.path);
    assert.equal(result.listening, false, `${line}: ${result.stderr}`);
    assert.equal(result.code, 2, `${line}: ${result.stderr}`);
    assert.match(
      result.stderr,
      /^freerouter: Invalid configuration: OPENROUTER_API_KEY must be printable ASCII without spaces, quotes or line breaks/,
    );
    assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    assert.ok(!result.stderr.includes("sk-or-v1-abc"), result.stderr);
  }
});

Deno.test("failedRequestError() keeps the runtime's reason from its cause, without the key or the URL it quotes", () => {
  const cause = new Error(
    `error sending request for url (http://127.0.0.1:9/api/v1/key): client error (Connect): bad Bearer ${KEY}`,
  );
  const err = failedRequestError(
    new TypeError("fetch failed", { cause }),
    KEY,
  );
  assert.equal(err.name, "TypeError");
  assert.equal(
    err.message,
    "fetch failed: client error (Connect): bad Bearer [redacted]",
  );
  const aborted = failedRequestError(
    new DOMException("The signal has been aborted", "AbortError"),
    KEY,
  );
  assert.equal(aborted.name, "AbortError");
  assert.equal(aborted.message, "The signal has been aborted");
});

Deno.test("withoutCredentials() drops the user name and password of a URL, and leaves others as they are", () => {
  assert.equal(
    withoutCredentials("https://me:pw@gateway.example/api/v1"),
    "https://gateway.example/api/v1",
  );
  assert.equal(
    withoutCredentials("https://openrouter.ai/api/v1"),
    "https://openrouter.ai/api/v1",
  );
  assert.equal(withoutCredentials("not a url"), "not a url");
  // A URL that does not parse keeps no credentials either.
  assert.equal(
    withoutCredentials("http://us%40er:SECRET@[::1"),
    "http://[::1",
  );
  // A password holding an unencoded `/` (the URL does not parse) too.
  assert.equal(
    withoutCredentials("http://gwuser:gw/SECRET@127.0.0.1:1/api/v1"),
    "http://127.0.0.1:1/api/v1",
  );
});

Deno.test("withoutUrlCredentials() drops the user name and password of every URL in a text, as a runtime error quotes them", () => {
  assert.equal(
    withoutUrlCredentials(
      "failed to connect to 'http://u:SECRET@localhost:1/': error sending request for url (HTTPS://u:SECRET@Host/db)",
    ),
    "failed to connect to 'http://localhost:1/': error sending request for url (HTTPS://Host/db)",
  );
  assert.equal(
    withoutUrlCredentials("mail me@example.com"),
    "mail me@example.com",
  );
  // A password holding a quote; an `@` in a query names no credentials.
  assert.equal(
    withoutUrlCredentials("at 'http://u:kv'SECRET@localhost:1/db'"),
    "at 'http://localhost:1/db'",
  );
  assert.equal(
    withoutUrlCredentials("https://kv.example.com/v1/db?owner=ops@example.org"),
    "https://kv.example.com/v1/db?owner=ops@example.org",
  );
});

Deno.test("the start command warns when clients present freerouter's keys and OPENROUTER_API_KEY is not set (every routed request would get 401)", async () => {
  await using fake = startFakeOpenRouter();
  const main = await startMain({
    OPENROUTER_BASE_URL: fake.baseUrl,
    FREEROUTER_KV_PATH: ":memory:",
    FREEROUTER_API_KEY: ACCESS,
  });
  try {
    await within(
      main.logged(/OPENROUTER_API_KEY is not set.*401 missing_api_key/),
      "the warning",
    );
    assert.ok(!main.stderr().includes(ACCESS));
  } finally {
    await main.stop();
  }
});

Deno.test("the start command without OPENROUTER_API_KEY and without freerouter's keys says that each client's own key is forwarded (bring your own key), and the warning for freerouter's keys is not given", async () => {
  await using fake = startFakeOpenRouter();
  const main = await startMain({
    OPENROUTER_BASE_URL: fake.baseUrl,
    FREEROUTER_KV_PATH: ":memory:",
  });
  try {
    await within(
      main.logged(/OPENROUTER_API_KEY is not set: each client's own/),
      "the line",
    );
  } finally {
    await main.stop();
  }
  assert.doesNotMatch(main.stderr(), /401 missing_api_key/);
});

Deno.test("freerouter (the start command) says where its state is, warns of a FREEROUTER_KV_PATH no shell expanded, and of FREEROUTER_ALIASES entries that match no free model", async () => {
  await using dir = await tempDir();
  await using fake = startFakeOpenRouter();
  const main = await startMain({
    HOST: "127.0.0.1",
    OPENROUTER_API_KEY: "sk-or-v1-state-line-0123456789",
    OPENROUTER_BASE_URL: fake.baseUrl,
    FREEROUTER_KV_PATH: "~/fr/kv.sqlite",
    FREEROUTER_ALIASES:
      "coder=qwen/qwen3-coderr:free,qwen/qwen3-coder:free;big=nobody/*",
  }, dir.path);
  try {
    await main.logged(/free models in the pool/);
    // Logged with the pool's size, in the same batch of lines.
    await within(
      main.logged(/FREEROUTER_ALIASES .*names models.*\n/),
      "the warning about the aliases",
    );
    const log = main.stderr();
    const real = await Deno.realPath(dir.path);
    assert.match(
      log,
      new RegExp(`State \\(FREEROUTER_KV_PATH\\): ${real}/~/fr/kv\\.sqlite`),
    );
    assert.match(
      log,
      /FREEROUTER_KV_PATH ~\/fr\/kv\.sqlite is taken literally/,
    );
    assert.match(
      log,
      /not in the free pool .*: coder: qwen\/qwen3-coderr:free; big: nobody\/\*/,
    );
    assert.doesNotMatch(log, /coder: qwen\/qwen3-coder:free[;\n]/);
  } finally {
    await main.stop();
  }
});

Deno.test("kvLocation() names the store as the log shows it: in memory, a KV Connect URL without credentials, an absolute path (POSIX or Windows) as given, a relative one under the working directory", () => {
  assert.match(kvLocation(":memory:"), /^in memory/);
  assert.equal(
    kvLocation("https://user:secret@kv.example/db"),
    "https://kv.example/db",
  );
  assert.equal(kvLocation("/var/lib/fr/kv.sqlite"), "/var/lib/fr/kv.sqlite");
  assert.equal(kvLocation("C:\\data\\kv.sqlite"), "C:\\data\\kv.sqlite");
  assert.equal(kvLocation("C:/data/kv.sqlite"), "C:/data/kv.sqlite");
  assert.equal(kvLocation("fr/kv.sqlite"), `${Deno.cwd()}/fr/kv.sqlite`);
});
