/**
 * Client access keys (FREEROUTER_CLIENT_KEYS, the `clientKeys` option): the
 * file and its one-line errors, who gets in, each client's limits per day and
 * per minute and its models list (429/403 before any upstream attempt), every
 * front counting, two instances on one KV file enforcing one limit, and usage
 * by name (never the key) in the status report and the metrics.
 */
import assert from "node:assert/strict";
import { loadClientKeys } from "../src/server/client_keys_file.ts";
import { ConfigError } from "../src/server/config.ts";
import { run } from "../src/server/main.ts";
import { parseClientKeys } from "../src/core/client_keys.ts";
import { type ClientKey, createHandler } from "../src/mod.ts";
import { errorStatus } from "./fake_openrouter/mod.ts";
import {
  hello,
  manualClock,
  rig,
  type RigOptions,
  withKvFile,
} from "./_harness.ts";

const ALICE = "fr-alice-secret-5d1c";
const BOB = "fr-bob-secret-90ab";
const ACCESS = "fr-admin-secret-77";

function clientRig(options: RigOptions = {}) {
  return rig({
    accessKey: ACCESS,
    clientKeys: [
      {
        name: "alice",
        key: ALICE,
        requestsPerDay: 3,
        models: ["auto", "auto:coding", "qwen/*"],
      },
      { name: "bob", key: BOB, requestsPerMinute: 1 },
    ],
    ...options,
  });
}

const as = (key: string) => ({
  headers: {
    "content-type": "application/json",
    authorization: `Bearer ${key}`,
  },
});

async function writeTemp(text: string): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(path, text);
  return path;
}

Deno.test("loadClientKeys() reads the file into clients with their limits and models", async () => {
  const path = await writeTemp(JSON.stringify({
    clients: [
      {
        name: "alice",
        key: ALICE,
        requests_per_day: 200,
        requests_per_minute: 5,
        models: ["auto", "auto:coding", "qwen/*"],
      },
      { name: "ci", key: "fr-ci-0b51d2aa" },
    ],
  }));
  try {
    assert.deepEqual(await loadClientKeys(path), [
      {
        name: "alice",
        key: ALICE,
        requestsPerDay: 200,
        requestsPerMinute: 5,
        models: ["auto", "auto:coding", "qwen/*"],
      },
      { name: "ci", key: "fr-ci-0b51d2aa" },
    ]);
  } finally {
    await Deno.remove(path);
  }
});

for (
  const [what, text, words] of [
    [
      "a missing key",
      '{"clients": [{"name": "alice"}]}',
      'clients[0] ("alice") key is required',
    ],
    [
      "a bad limit",
      `{"clients": [{"name": "a", "key": "${ALICE}"}, {"name": "bob", "key": "${BOB}", "requests_per_day": 0}]}`,
      'clients[1] ("bob") requests_per_day must be at least 1',
    ],
    [
      "an unknown field",
      `{"clients": [{"name": "bob", "key": "${BOB}", "requests_per_hour": 5}]}`,
      'clients[0] ("bob") has an unknown field "requests_per_hour"',
    ],
    [
      "a repeated name",
      `{"clients": [{"name": "bob", "key": "${ALICE}"}, {"name": "bob", "key": "${BOB}"}]}`,
      'clients[1] ("bob") repeats the name of an earlier client',
    ],
    [
      "a short key",
      '{"clients": [{"name": "bob", "key": "short"}]}',
      'clients[0] ("bob") key must be at least 8 printable ASCII characters',
    ],
    [
      "a key no HTTP client can send (not ASCII)",
      '{"clients": [{"name": "bob", "key": "ключ-секрет-123"}]}',
      'clients[0] ("bob") key must be at least 8 printable ASCII characters',
    ],
    [
      "no clients list",
      '{"users": []}',
      'the file must be an object with a "clients" list',
    ],
    [
      "text that is not JSON",
      `{"clients": [{"key": "${BOB}" "name": 1}]}`,
      "is not valid JSON (line 1 column",
    ],
  ] as const
) {
  Deno.test(`loadClientKeys() stops with one line naming the file and the entry on ${what}`, async () => {
    const path = await writeTemp(text);
    try {
      const err = await loadClientKeys(path).then(
        () => assert.fail("accepted"),
        (e) => e,
      );
      assert.ok(err instanceof ConfigError);
      assert.ok(err.message.includes(path), err.message);
      assert.ok(err.message.includes(words), err.message);
      assert.doesNotMatch(err.message, /\n/);
      assert.ok(!err.message.includes(BOB) && !err.message.includes(ALICE));
    } finally {
      await Deno.remove(path);
    }
  });
}

Deno.test("loadClientKeys() reads a file saved with a byte order mark", async () => {
  const path = await writeTemp(
    `\uFEFF${JSON.stringify({ clients: [{ name: "ci", key: BOB }] })}`,
  );
  try {
    assert.deepEqual(await loadClientKeys(path), [{ name: "ci", key: BOB }]);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("freerouter refuses to start on a bad client keys file (exit 2, one line) or a missing one", async () => {
  const path = await writeTemp('{"clients": [{"name": "alice"}]}');
  try {
    for (const file of [path, `${path}.missing`]) {
      const err: string[] = [];
      const code = await run([], {
        FREEROUTER_CLIENT_KEYS: file,
        FREEROUTER_KV_PATH: ":memory:",
        PORT: "0",
      }, { out: () => {}, err: (t) => err.push(t) });
      assert.equal(code, 2);
      assert.equal(err.length, 1);
      assert.match(err[0]!, new RegExp(`FREEROUTER_CLIENT_KEYS file ${file}`));
    }
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("parseClientKeys() and createHandler() refuse the same bad lists", () => {
  assert.equal(parseClientKeys({ clients: [] }).ok, true);
  assert.throws(
    () =>
      createHandler({
        clientKeys: [
          { name: "a", key: "fr-same-key-123" },
          { name: "b", key: "fr-same-key-123" },
        ],
      }),
    { name: "TypeError", message: /clients\[1\] \("b"\) repeats the key/ },
  );
  assert.throws(
    () =>
      createHandler({
        accessKey: "fr-same-key-123",
        clientKeys: [{ name: "a", key: "fr-same-key-123" }],
      }),
    { name: "TypeError", message: /same key as accessKey/ },
  );
});

Deno.test("createHandler() refuses a client entry written in the keys file's spelling rather than taking it as unlimited", () => {
  // A JavaScript caller passing the file's entries as they are: a limit
  // under the file's name would otherwise be no limit at all.
  const fileEntry = {
    name: "a",
    key: "fr-alice-7f3a9c1e",
    requests_per_minute: 1,
  } as unknown as ClientKey;
  assert.throws(
    () => createHandler({ clientKeys: [fileEntry] }),
    {
      name: "TypeError",
      message:
        /clients\[0\] \("a"\) has an unknown field "requests_per_minute" \(the option spells it requestsPerMinute\)/,
    },
  );
  assert.throws(
    () =>
      createHandler({
        clientKeys: [
          { name: "b", key: "fr-bob-7f3a9c1e", limit: 5 } as ClientKey,
        ],
      }),
    { name: "TypeError", message: /has an unknown field "limit"$/ },
  );
});

Deno.test("createHandler() with client keys takes them and the access key, and answers 401 to any other key", async () => {
  await using r = clientRig();
  for (const key of [ALICE, BOB, ACCESS]) {
    const res = await r.chat(hello(), as(key));
    assert.equal(res.status, 200, key === ACCESS ? "access key" : "client");
    await res.body?.cancel();
  }
  for (const init of [as("fr-someone-else-000"), undefined]) {
    const res = await r.chat(hello(), init);
    assert.equal(res.status, 401);
    assert.equal((await res.json()).error.code, "invalid_api_key");
  }
  assert.equal(r.fake.chatRequests().length, 3);
  for (const q of r.fake.chatRequests()) {
    assert.equal(
      q.headers.get("authorization"),
      "Bearer sk-or-v1-server-key-0123456789abcdef",
      "client keys never go upstream",
    );
  }
});

Deno.test("createHandler() answers a client over its daily limit with 429 and Retry-After (next UTC midnight), without an upstream call", async () => {
  await using r = clientRig();
  for (let i = 0; i < 3; i++) {
    const res = await r.chat(hello(), as(ALICE));
    assert.equal(res.status, 200);
    await res.body?.cancel();
  }
  const refused = await r.chat(hello(), as(ALICE));
  assert.equal(refused.status, 429);
  const midnight = Date.parse("2026-11-25T00:00:00Z");
  assert.equal(
    refused.headers.get("retry-after"),
    String((midnight - r.clock.now()) / 1000),
  );
  const body = await refused.json();
  assert.equal(body.error.type, "rate_limit_error");
  assert.equal(body.error.code, "client_limit_reached");
  assert.match(
    body.error.message,
    /"alice" reached its limit of 3 requests per day/,
  );
  assert.equal(r.fake.chatRequests().length, 3, "no upstream call");
  // Other clients are not affected.
  const bob = await r.chat(hello(), as(BOB));
  assert.equal(bob.status, 200);
  await bob.body?.cancel();
  // The next UTC day has room again.
  r.clock.advance(midnight - r.clock.now());
  const tomorrow = await r.chat(hello(), as(ALICE));
  assert.equal(tomorrow.status, 200);
  await tomorrow.body?.cancel();
});

Deno.test("createHandler() answers a client over its per-minute limit with 429 and Retry-After until the next minute", async () => {
  // 12:00:42: the next minute is 18 s away (a flat minute would say 60).
  await using r = clientRig({
    clock: manualClock(Date.parse("2026-11-24T12:00:42Z")),
  });
  const first = await r.chat(hello(), as(BOB));
  assert.equal(first.status, 200);
  await first.body?.cancel();
  r.clock.advance(16_500);
  const second = await r.chat(hello(), as(BOB));
  assert.equal(second.status, 429);
  const wait = Number(second.headers.get("retry-after"));
  assert.equal(wait, 2, "12:00:58.5 → 12:01:00, rounded up");
  assert.match((await second.json()).error.message, /1 requests per minute/);
  assert.equal(r.fake.chatRequests().length, 1);
  r.clock.advance(1_499);
  const still = await r.chat(hello(), as(BOB));
  assert.equal(still.status, 429, "12:00:59.999 is still the same minute");
  await still.body?.cancel();
  r.clock.advance(1);
  const later = await r.chat(hello(), as(BOB));
  assert.equal(later.status, 200);
  await later.body?.cancel();
});

Deno.test("createHandler() answers 403 before any attempt for a model or alias outside the client's list ('*' matches within an id)", async () => {
  await using r = clientRig({
    clientKeys: [{
      name: "alice",
      key: ALICE,
      models: ["auto", "auto:coding", "qwen/*"],
    }],
  });
  for (const model of ["auto", "auto:coding", "qwen/qwen3-coder:free"]) {
    const res = await r.chat(hello(model), as(ALICE));
    assert.equal(res.status, 200, model);
    await res.body?.cancel();
  }
  const noModel = await r.chat(
    { messages: [{ role: "user", content: "Hi" }] },
    as(ALICE),
  );
  assert.equal(noModel.status, 200, "no model means auto");
  await noModel.body?.cancel();
  for (
    const model of [
      "auto:fast",
      "nvidia/nemotron-3-super-120b-a12b:free",
      "qwen",
    ]
  ) {
    const res = await r.chat(hello(model), as(ALICE));
    assert.equal(res.status, 403, model);
    const body = await res.json();
    assert.equal(body.error.type, "permission_error");
    assert.equal(body.error.code, "model_not_allowed");
    assert.equal(body.error.param, "model");
  }
  assert.equal(
    r.fake.chatRequests().length,
    4,
    "no attempt for the refused ones",
  );
  // The access key has no list.
  const admin = await r.chat(hello("auto:fast"), as(ACCESS));
  assert.equal(admin.status, 200);
  await admin.body?.cancel();
});

Deno.test("createHandler() counts a client's requests on every front (chat, Messages, Responses); Messages refusals take Anthropic's shape", async () => {
  await using r = clientRig();
  const chat = await r.chat(hello(), as(ALICE));
  assert.equal(chat.status, 200);
  await chat.body?.cancel();
  const messages = () =>
    r.request("/v1/messages", {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": ALICE },
      body: JSON.stringify({
        model: "auto",
        max_tokens: 100,
        messages: [{ role: "user", content: "Hi" }],
      }),
    });
  const m = await messages();
  assert.equal(m.status, 200);
  await m.body?.cancel();
  const resp = await r.request("/v1/responses", {
    method: "POST",
    ...as(ALICE),
    body: JSON.stringify({ model: "auto", input: "Hi" }),
  });
  assert.equal(resp.status, 200);
  await resp.body?.cancel();
  const refused = await messages();
  assert.equal(refused.status, 429);
  assert.ok(Number(refused.headers.get("retry-after")) > 0);
  const body = await refused.json();
  assert.equal(body.type, "error");
  assert.equal(body.error.type, "rate_limit_error");
  assert.match(body.error.message, /reached its limit/);
  const forbidden = await r.request("/v1/messages", {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": ALICE },
    body: JSON.stringify({
      model: "claude-sonnet-4-5",
      max_tokens: 100,
      messages: [{ role: "user", content: "Hi" }],
    }),
  });
  assert.equal(forbidden.status, 403);
  assert.equal((await forbidden.json()).error.type, "permission_error");
  assert.equal(r.fake.chatRequests().length, 3);
});

Deno.test("createHandler(): two instances on one KV file enforce one client limit", async () => {
  await withKvFile(async (path) => {
    using kvA = await Deno.openKv(path);
    using kvB = await Deno.openKv(path);
    await using a = clientRig({ kv: kvA });
    await using b = clientRig({ kv: kvB, fake: a.fake, clock: a.clock });
    const statuses: number[] = [];
    for (const r of [a, b, a, b]) {
      const res = await r.chat(hello(), as(ALICE));
      statuses.push(res.status);
      await res.body?.cancel();
    }
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    assert.equal(a.fake.chatRequests().length, 3);
    // Concurrent requests through both count exactly once each.
    const res = await Promise.all(
      [a, b, a, b].map((r) => r.chat(hello(), as(BOB))),
    );
    const codes = res.map((x) => x.status).sort();
    await Promise.all(res.map((x) => x.body?.cancel()));
    assert.deepEqual(
      codes,
      [200, 429, 429, 429],
      "one per minute, across both",
    );
  });
});

Deno.test("client usage is in the status report, the status of every instance, and the metrics, by name, never the key", async () => {
  const lines: string[] = [];
  const logger = {
    info: (m: string, f?: Record<string, unknown>) =>
      void lines.push(m + JSON.stringify(f ?? {})),
    warn: (m: string, f?: Record<string, unknown>) =>
      void lines.push(m + JSON.stringify(f ?? {})),
  };
  await using r = clientRig({ logger });
  for (let i = 0; i < 2; i++) {
    await (await r.chat(hello(), as(ALICE))).body?.cancel();
  }
  r.clock.advance(1000);
  const status = await r.request("/v1/freerouter/status", as(BOB));
  const text = await status.text();
  const s = JSON.parse(text);
  const alice = s.clients.find((c: { name: string }) => c.name === "alice");
  assert.equal(alice.requests_today, 2);
  assert.equal(alice.requests_this_minute, 2);
  assert.equal(alice.requests_per_day, 3);
  assert.equal(
    alice.last_request_at,
    new Date(r.clock.now() - 1000).toISOString(),
  );
  const bob = s.clients.find((c: { name: string }) => c.name === "bob");
  assert.equal(bob.requests_today, 0);
  assert.equal(bob.last_request_at, null);
  const metrics = await (await r.request("/metrics", as(ACCESS))).text();
  assert.match(
    metrics,
    /freerouter_client_requests\{client="alice",window="day"\} 2/,
  );
  assert.match(
    metrics,
    /freerouter_client_requests\{client="bob",window="minute"\} 0/,
  );
  for (const out of [text, metrics, lines.join("\n")]) {
    for (const secret of [ALICE, BOB, ACCESS]) {
      assert.ok(!out.includes(secret), "a key leaked");
    }
  }
});

Deno.test("createHandler() answers a client that named a model only from its list: its fallbacks stay on the list; an alias it may use grants the alias's models", async () => {
  const QWEN = "qwen/qwen3-coder:free";
  const QWEN_NEXT = "qwen/qwen3-next-80b-a3b-instruct:free";
  await using r = clientRig({
    clientKeys: [{ name: "alice", key: ALICE, models: ["auto", "qwen/*"] }],
  });
  r.fake.script(QWEN, errorStatus(502), errorStatus(502));
  const named = await r.chat(hello(QWEN), as(ALICE));
  assert.equal(named.status, 200, await named.text());
  assert.equal(named.headers.get("x-freerouter-model"), QWEN_NEXT);
  r.fake.script(QWEN_NEXT, errorStatus(502));
  const none = await r.chat(hello(QWEN), as(ALICE));
  assert.equal(none.status, 502, "no model of the list is left");
  await none.body?.cancel();
  assert.deepEqual(
    r.fake.chatRequests().map((req) => (req.body as { model: string }).model),
    [QWEN, QWEN_NEXT, QWEN, QWEN_NEXT],
  );
  // `auto` is on alice's list: it grants the whole pool.
  r.fake.script(QWEN, errorStatus(502));
  const auto = await r.chat(hello("auto"), as(ALICE));
  assert.equal(auto.status, 200);
  assert.equal(
    auto.headers.get("x-freerouter-model"),
    "nvidia/nemotron-3-super-120b-a12b:free",
  );
  await auto.body?.cancel();
});

Deno.test("createHandler() treats openrouter/auto on a client's list as the alias it is, and answers 400 when no free model is on the list of a client that named one", async () => {
  const QWEN = "qwen/qwen3-coder:free";
  await using r = clientRig({
    clientKeys: [
      { name: "alice", key: ALICE, models: ["qwen/*", "openrouter/auto"] },
      { name: "bob", key: BOB, models: ["openai/gpt-4o"] },
    ],
  });
  r.fake.script(QWEN, errorStatus(502));
  const auto = await r.chat(hello("openrouter/auto"), as(ALICE));
  assert.equal(auto.status, 200);
  assert.equal(
    auto.headers.get("x-freerouter-model"),
    "nvidia/nemotron-3-super-120b-a12b:free",
    "the whole pool, not only the qwen models",
  );
  await auto.body?.cancel();
  const paid = await r.chat(hello("openai/gpt-4o"), as(BOB));
  assert.equal(paid.status, 400);
  const body = await paid.json();
  assert.equal(body.error.code, "no_capable_model");
  assert.equal(body.error.param, "model");
  assert.match(body.error.message, /on this client's list \(openai\/gpt-4o\)/);
  assert.equal(r.fake.chatRequests().length, 2, "no attempt for bob");
});

Deno.test("createHandler(): a plain name that routes as auto (Claude Code's claude-…) is answered only from the client's list, unless auto is on it; an operator's alias on the list grants its models", async () => {
  const QWEN = "qwen/qwen3-coder:free";
  const NEMOTRON = "nvidia/nemotron-3-super-120b-a12b:free";
  await using r = clientRig({
    aliases: { team: [NEMOTRON] },
    clientKeys: [
      { name: "erin", key: ALICE, models: ["qwen/*", "claude-*", "team"] },
      { name: "dave", key: BOB, models: ["claude-*"] },
      {
        name: "carol",
        key: "fr-carol-secret-41",
        models: ["auto", "claude-*"],
      },
    ],
  });
  const messages = (key: string) =>
    r.request("/v1/messages", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
        "x-api-key": key,
      },
      body: JSON.stringify({
        model: "claude-sonnet-4-5",
        max_tokens: 64,
        messages: [{ role: "user", content: "hi" }],
      }),
    });
  const erin = await messages(ALICE);
  assert.equal(erin.status, 200, await erin.clone().text());
  assert.equal(erin.headers.get("x-freerouter-model"), QWEN, "on her list");
  await erin.body?.cancel();
  const onChat = await r.chat(hello("claude-3-haiku"), as(ALICE));
  assert.equal(onChat.headers.get("x-freerouter-model"), QWEN);
  await onChat.body?.cancel();
  const team = await r.chat(hello("team"), as(ALICE));
  assert.equal(team.headers.get("x-freerouter-model"), NEMOTRON, "the alias");
  await team.body?.cancel();
  const dave = await messages(BOB);
  assert.equal(dave.status, 400, "no free model is on dave's list");
  const refusal = await dave.json();
  assert.equal(refusal.type, "error");
  assert.equal(refusal.error.type, "invalid_request_error");
  assert.match(refusal.error.message, /client's list \(claude-\*\)/);
  const carol = await messages("fr-carol-secret-41");
  assert.equal(carol.status, 200, "auto is on carol's list: the whole pool");
  assert.equal(carol.headers.get("x-freerouter-model"), QWEN, "its first");
  await carol.body?.cancel();
  assert.deepEqual(
    r.fake.chatRequests().map((req) => (req.body as { model: string }).model),
    [QWEN, QWEN, NEMOTRON, QWEN],
  );
});

Deno.test("createHandler(): openrouter/auto on a client's list grants a plain name that routes as auto the whole pool, as auto does", async () => {
  await using r = clientRig({
    clientKeys: [
      { name: "gus", key: ALICE, models: ["openrouter/auto", "claude-*"] },
    ],
  });
  const res = await r.chat(hello("claude-sonnet-4-5"), as(ALICE));
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get("x-freerouter-model"), "qwen/qwen3-coder:free");
  await res.body?.cancel();
});
