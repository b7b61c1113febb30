/**
 * Request ids, one log line per request, and Prometheus metrics.
 */
import assert from "node:assert/strict";
import { isoTime } from "../src/ops/iso_time.ts";
import { consoleLogger, LineBuffer } from "../src/server/logger.ts";
import type { Logger } from "../src/options.ts";
import { hello, rig, SERVER_KEY } from "./_harness.ts";
import {
  cloudflare429,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER as POOL,
  streamOk,
} from "./fake_openrouter/mod.ts";

const [A, B] = POOL as [string, string];

function capturingLogger(): Logger & {
  lines: Array<{ message: string; fields?: Record<string, unknown> }>;
} {
  const lines: Array<{ message: string; fields?: Record<string, unknown> }> =
    [];
  return {
    lines,
    info: (message, fields) => void lines.push({ message, fields }),
    warn: (message, fields) => void lines.push({ message, fields }),
  };
}

Deno.test("createHandler() returns the client's X-Request-Id, or a new one, on every response", async () => {
  await using r = rig();
  const given = await r.chat(hello(), {
    headers: { "content-type": "application/json", "x-request-id": "req-123" },
  });
  assert.equal(given.headers.get("x-request-id"), "req-123");
  await given.body?.cancel();
  const generated = await r.request("/v1/nope");
  assert.match(generated.headers.get("x-request-id")!, /^[0-9a-f-]{36}$/);
  await generated.body?.cancel();
  const odd = await r.request("/health", {
    headers: { "x-request-id": "bad id with spaces" },
  });
  assert.notEqual(odd.headers.get("x-request-id"), "bad id with spaces");
  await odd.body?.cancel();
});

Deno.test("createHandler() logs one line per request with id, model, attempts, latency and stream flag, never keys or content", async () => {
  const logger = capturingLogger();
  await using r = rig({ logger });
  r.fake.script(A, {
    status: 503,
    body: { error: { message: "down", code: 503 } },
  });
  const res = await r.chat(
    hello("auto", {
      messages: [{ role: "user", content: "secret prompt text" }],
    }),
    {
      headers: {
        "content-type": "application/json",
        "x-request-id": "log-1",
        authorization: "Bearer client",
      },
    },
  );
  await res.body?.cancel();
  const requestLines = logger.lines.filter((l) => l.message === "request");
  assert.equal(requestLines.length, 1);
  const fields = requestLines[0]!.fields!;
  assert.equal(fields.request_id, "log-1");
  assert.equal(fields.model, B);
  assert.equal(fields.attempts, `${A}=503,${B}=ok`);
  assert.equal(fields.status, 200);
  assert.equal(fields.stream, false);
  assert.equal(typeof fields.latency_ms, "number");
  const everything = JSON.stringify(logger.lines);
  assert.doesNotMatch(everything, /secret prompt text/);
  assert.ok(!everything.includes(SERVER_KEY));
});

Deno.test("consoleLogger() writes JSON or pretty lines and drops levels below LOG_LEVEL", () => {
  const lines: string[] = [];
  const json = consoleLogger({
    format: "json",
    level: "info",
    write: (l) => void lines.push(l),
  });
  json.info("request", { request_id: "x", status: 200 });
  const parsed = JSON.parse(lines[0]!);
  assert.deepEqual(
    [parsed.level, parsed.msg, parsed.request_id, parsed.status],
    ["info", "request", "x", 200],
  );
  const pretty = consoleLogger({
    format: "pretty",
    level: "warn",
    write: (l) => void lines.push(l),
  });
  pretty.info("dropped");
  pretty.warn("kept", { model: "a:free", attempts: "a=429,b=ok" });
  assert.equal(lines.length, 2);
  assert.match(lines[1]!, /^\S+ WARN kept model=a:free attempts=a=429,b=ok$/);
});

Deno.test("createHandler() serves Prometheus metrics: requests, attempts, fallbacks, cooldowns, latency, stream TTFB", async () => {
  await using r = rig({ cooldownSeconds: 60 });
  r.fake.script(A, cloudflare429());
  await (await r.chat(hello())).body?.cancel();
  r.fake.script(B, { stream: streamOk(B, ["a", "b"]) });
  await (await r.chat(hello("auto", { stream: true }))).text();
  await (await r.chat({ messages: [] })).body?.cancel();
  const res = await r.request("/metrics");
  assert.equal(res.status, 200);
  assert.match(
    res.headers.get("content-type")!,
    /^text\/plain; version=0\.0\.4/,
  );
  const text = await res.text();
  const line = (pattern: string) => new RegExp(`^${pattern}$`, "m");
  assert.match(
    text,
    line('freerouter_requests_total\\{route="chat",outcome="ok"\\} 2'),
  );
  assert.match(
    text,
    line(
      'freerouter_requests_total\\{route="chat",outcome="client_error"\\} 1',
    ),
  );
  assert.match(
    text,
    line(`freerouter_upstream_attempts_total\\{model="${A}",class="4xx"\\} 1`),
  );
  assert.match(
    text,
    line(`freerouter_upstream_attempts_total\\{model="${B}",class="2xx"\\} 2`),
  );
  assert.match(text, line("freerouter_fallbacks_total 1"));
  assert.match(text, line("freerouter_cooldowns_active 1"));
  assert.match(
    text,
    line('freerouter_account_attempts\\{window="minute"\\} 3'),
  );
  assert.match(
    text,
    line(`freerouter_upstream_latency_seconds_count\\{model="${A}"\\} 1`),
  );
  assert.match(text, line("freerouter_stream_ttfb_seconds_count 1"));
  assert.match(text, line("freerouter_account_blocked 0"));
});

Deno.test("createHandler() protects /metrics with FREEROUTER_API_KEY", async () => {
  await using r = rig({ accessKey: "metrics-key" });
  const denied = await r.request("/metrics");
  assert.equal(denied.status, 401);
  await denied.body?.cancel();
  const allowed = await r.request("/metrics", {
    headers: { authorization: "Bearer metrics-key" },
  });
  assert.equal(allowed.status, 200);
  assert.doesNotMatch(await allowed.text(), /metrics-key/);
});

Deno.test("LineBuffer writes pending lines in order in one write, within maxDelayMs", async () => {
  const writes: string[] = [];
  const wrote = Promise.withResolvers<void>();
  const lines = new LineBuffer((bytes) => {
    writes.push(new TextDecoder().decode(bytes));
    wrote.resolve();
  }, 5);
  lines.write("first");
  lines.write("second");
  assert.deepEqual(writes, [], "nothing written per line");
  await wrote.promise;
  assert.deepEqual(writes, ["first\nsecond\n"]);
  lines.flush();
  assert.equal(writes.length, 1, "an empty flush writes nothing");
});

Deno.test("LineBuffer writes at once when maxBytes are pending, and on flush()", () => {
  const writes: string[] = [];
  const lines = new LineBuffer(
    (bytes) => void writes.push(new TextDecoder().decode(bytes)),
    60_000,
    10,
  );
  lines.write("12345");
  lines.write("678910");
  assert.deepEqual(writes, ["12345\n678910\n"]);
  lines.write("tail");
  lines.flush();
  assert.deepEqual(writes, ["12345\n678910\n", "tail\n"]);
});

Deno.test("isoTime() formats like Date#toISOString, also for repeated and changing milliseconds", () => {
  for (
    const ms of [0, 1_764_000_000_123, 1_764_000_000_123, 1_764_000_000_124]
  ) {
    assert.equal(isoTime(ms), new Date(ms).toISOString());
  }
  assert.match(isoTime(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

Deno.test("GET /v1/freerouter/status lists recent chat requests newest first, stamped with their arrival time", async () => {
  await using r = rig();
  const before = Date.now();
  for (const id of ["first", "second"]) {
    const res = await r.chat(hello(), {
      headers: { "content-type": "application/json", "x-request-id": id },
    });
    await res.body?.cancel();
  }
  const after = Date.now();
  const status = await (await r.request("/v1/freerouter/status")).json() as {
    recent: Array<{ id: string; at: string; status: number; model: string }>;
  };
  assert.deepEqual(status.recent.map((e) => e.id), ["second", "first"]);
  for (const entry of status.recent) {
    assert.equal(entry.at, new Date(Date.parse(entry.at)).toISOString());
    assert.ok(Date.parse(entry.at) >= before && Date.parse(entry.at) <= after);
    assert.equal(entry.status, 200);
    assert.equal(entry.model, A);
  }
});
