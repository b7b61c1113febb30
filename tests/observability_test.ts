/**
 * Request ids, one log line per request, and Prometheus metrics.
 */
import assert from "node:assert/strict";
import { isoTime } from "../src/ops/iso_time.ts";
import {
  consoleLogger,
  type FlushTimer,
  LineBuffer,
  setTimeoutTimer,
} from "../src/server/logger.ts";
import type { Logger } from "../src/options.ts";
import { hello, rig, SERVER_KEY } from "./_harness.ts";
import {
  cloudflare429,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER as POOL,
  ok,
  streamOk,
} from "./fake_openrouter/mod.ts";
import { within } from "./_async.ts";

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

Deno.test("consoleLogger(): debug lines only at LOG_LEVEL=debug (none is built otherwise), error lines at every level", () => {
  const lines: string[] = [];
  const write = (l: string) => void lines.push(l);
  assert.equal(consoleLogger({ level: "info", write }).debug, undefined);
  const debug = consoleLogger({ level: "debug", write });
  debug.debug!("attempt", { n: 1 });
  const quiet = consoleLogger({ level: "error", write });
  quiet.info("dropped");
  quiet.warn("dropped");
  quiet.error!("kept");
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, / DEBUG attempt n=1$/);
  assert.match(lines[1]!, / ERROR kept$/);
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

/** A {@link FlushTimer} that only fires when the test calls `fire()`. */
function manualTimer() {
  const scheduled: Array<{ ms: number; fire: () => void; cancelled: boolean }> =
    [];
  const timer: FlushTimer = (fn, ms) => {
    const entry = { ms, fire: fn, cancelled: false };
    scheduled.push(entry);
    return () => void (entry.cancelled = true);
  };
  return { timer, scheduled };
}

Deno.test("LineBuffer writes pending lines in order in one write, when its maxDelayMs timer fires and not before", () => {
  const writes: string[] = [];
  const { timer, scheduled } = manualTimer();
  const lines = new LineBuffer(
    (bytes) => void writes.push(new TextDecoder().decode(bytes)),
    5,
    16 * 1024,
    timer,
  );
  lines.write("first");
  lines.write("second");
  assert.deepEqual(writes, [], "nothing written per line");
  assert.deepEqual(
    scheduled.map((t) => t.ms),
    [5],
    "one write scheduled, maxDelayMs after the first line",
  );
  scheduled[0]!.fire();
  assert.deepEqual(writes, ["first\nsecond\n"]);
  lines.write("third");
  assert.deepEqual(writes, ["first\nsecond\n"], "again held until the timer");
  assert.deepEqual(scheduled.map((t) => t.ms), [5, 5]);
  scheduled[1]!.fire();
  assert.deepEqual(writes, ["first\nsecond\n", "third\n"]);
  lines.flush();
  assert.equal(writes.length, 2, "an empty flush writes nothing");
  assert.equal(scheduled.length, 2, "nothing pending, nothing scheduled");
});

Deno.test("LineBuffer writes at once when maxBytes are pending, and on flush(), cancelling the scheduled write", () => {
  const writes: string[] = [];
  const { timer, scheduled } = manualTimer();
  const lines = new LineBuffer(
    (bytes) => void writes.push(new TextDecoder().decode(bytes)),
    60_000,
    10,
    timer,
  );
  lines.write("12345");
  lines.write("678910");
  assert.deepEqual(writes, ["12345\n678910\n"]);
  assert.deepEqual(
    scheduled.map((t) => [t.ms, t.cancelled]),
    [[60_000, true]],
    "the write at maxBytes cancels the scheduled one",
  );
  lines.write("tail");
  lines.flush();
  assert.deepEqual(writes, ["12345\n678910\n", "tail\n"]);
  assert.deepEqual(scheduled.map((t) => t.cancelled), [true, true]);
});

Deno.test("LineBuffer schedules its write with setTimeout unless given a timer", async () => {
  const writes: string[] = [];
  const wrote = Promise.withResolvers<void>();
  const lines = new LineBuffer((bytes) => {
    writes.push(new TextDecoder().decode(bytes));
    wrote.resolve();
  }, 1);
  assert.equal(lines.timer, setTimeoutTimer);
  lines.write("first");
  lines.write("second");
  assert.deepEqual(writes, []);
  await within(wrote.promise, "the setTimeout write");
  assert.deepEqual(writes, ["first\nsecond\n"]);
});

Deno.test("isoTime() formats like Date#toISOString, also for repeated and changing milliseconds", () => {
  for (
    const ms of [0, 1_764_000_000_123, 1_764_000_000_123, 1_764_000_000_124]
  ) {
    assert.equal(isoTime(ms), new Date(ms).toISOString());
  }
  assert.match(isoTime(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

Deno.test("GET /v1/freerouter/status lists recent chat requests newest first, stamped with their arrival time on the handler's clock", async () => {
  await using r = rig();
  const arrivals: number[] = [];
  for (const id of ["first", "second"]) {
    // The upstream holds its answer until the clock has moved on, so the
    // arrival and the completion are 3 s apart on the handler's clock.
    const reached = Promise.withResolvers<void>();
    const release = Promise.withResolvers<void>();
    r.fake.script(A, {
      ...ok(A),
      gate: () => {
        reached.resolve();
        return release.promise;
      },
    });
    arrivals.push(r.clock.now());
    const pending = r.chat(hello(), {
      headers: { "content-type": "application/json", "x-request-id": id },
    });
    await within(reached.promise, `${id} reaches the upstream`);
    r.clock.advance(3_000);
    release.resolve();
    const res = await within(pending, `${id} is answered`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
    r.clock.advance(60_000);
  }
  const status = await (await r.request("/v1/freerouter/status")).json() as {
    recent: Array<
      {
        id: string;
        at: string;
        status: number;
        model: string;
        latency_ms: number;
      }
    >;
  };
  assert.deepEqual(status.recent.map((e) => e.id), ["second", "first"]);
  assert.deepEqual(
    status.recent.map((e) => e.at),
    [arrivals[1]!, arrivals[0]!].map((ms) => new Date(ms).toISOString()),
    "stamped when each request arrived, not when it was answered",
  );
  for (const entry of status.recent) {
    assert.equal(entry.latency_ms, 3_000, "arrival to answer, on the clock");
    assert.equal(entry.status, 200);
    assert.equal(entry.model, A);
  }
});
