/**
 * Every timeout, in the process as `deno task start` runs it (same flags, same
 * entry point) against the fake OpenRouter: a flag or a runtime change that
 * silently disables a timer fails here, not in a user's terminal. Order is
 * checked by events; the only clock is the bound that turns a hang into a
 * failure.
 */
import assert from "node:assert/strict";
import { type MainProcess, startMain } from "./_deno_process.ts";
import { keepAlives, Pacer } from "./_streams.ts";
import {
  chunk,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER,
  minuteCap,
  PROCESSING,
  startFakeOpenRouter,
  streamOk,
} from "./fake_openrouter/mod.ts";

const [FIRST, SECOND] = FREE_CHAT_IDS_IN_PRIORITY_ORDER as [string, string];
/**
 * The timeouts under test are a few seconds long, so that periodic work in
 * the process (a collection, an idle task) falls inside them, as it would in
 * a user's stall. (An idle memory trimmer once stopped a 3 s idle timeout
 * from ever firing while a 1 s one still fired in time.)
 */
/** What turns a timer that never fires into a failed test instead of a hung one. */
const HANG_BOUND_MS = 20_000;

/** Resolves with `promise`, or fails the test when it does not settle within the bound. */
async function bounded<T>(
  promise: Promise<T>,
  what: string,
  detail: () => string = () => "",
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `${what}: still waiting after ${HANG_BOUND_MS} ms${detail()}`,
          ),
        ),
      HANG_BOUND_MS,
    );
  });
  try {
    return await Promise.race([promise, hung]);
  } finally {
    clearTimeout(timer);
  }
}

/** Every SSE `data:` payload of a response, in order, until the stream closes. */
async function dataEvents(
  res: Response,
  main?: MainProcess,
): Promise<string[]> {
  const events: string[] = [];
  let buffer = "";
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { done, value } = await bounded(
        reader.read(),
        "the stream",
        () =>
          `; received so far: ${JSON.stringify(events)}; the proxy's stderr:\n${
            main?.stderr() ?? ""
          }`,
      );
      if (done) break;
      buffer += value;
      for (
        let end = buffer.indexOf("\n\n");
        end !== -1;
        end = buffer.indexOf("\n\n")
      ) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = event.split("\n").filter((l) => l.startsWith("data: "))
          .map((l) => l.slice(6)).join("\n");
        if (data !== "") events.push(data);
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return events;
}

function post(main: MainProcess, body: unknown, signal?: AbortSignal) {
  return fetch(`${main.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });
}

const ask = (stream: boolean) => ({
  model: "auto",
  stream,
  messages: [{ role: "user", content: "Hello" }],
});

async function proxy(
  baseUrl: string,
  env: Record<string, string> = {},
): Promise<MainProcess> {
  return await startMain({
    OPENROUTER_API_KEY: "sk-or-v1-process-test",
    OPENROUTER_BASE_URL: baseUrl,
    FREEROUTER_KV_PATH: ":memory:",
    // The pool's listed order, so that FIRST and SECOND are tried in turn.
    FREEROUTER_STRATEGY: "priority",
    ...env,
  });
}

for (const keepingAlive of [false, true]) {
  const silence = keepingAlive
    ? "sends only keep-alive comments"
    : "goes silent";
  Deno.test(`deno task start: a committed stream whose upstream ${silence} is resumed on the next model, one answer and one [DONE]`, async () => {
    await using fake = startFakeOpenRouter();
    using pacer = new Pacer();
    const comments = keepAlives(pacer, PROCESSING, 200, 500);
    fake.script(FIRST, {
      stream: {
        parts: [
          chunk(FIRST, { role: "assistant", content: "" }),
          chunk(FIRST, "Hel"),
          ...(keepingAlive ? comments.parts : []),
        ],
        end: "hang",
      },
    });
    fake.script(SECOND, { stream: streamOk(SECOND, ["lo", "!"]) });
    // Keep-alives extend the idle deadline up to the keep-alive bound.
    const main = await proxy(fake.baseUrl, {
      FREEROUTER_STREAM_IDLE_TIMEOUT: "3",
      FREEROUTER_KEEPALIVE_TIMEOUT: "4",
    });
    try {
      const res = await post(main, ask(true));
      assert.equal(res.headers.get("x-freerouter-model"), FIRST);
      const events = await dataEvents(res, main);
      assert.equal(events.at(-1), "[DONE]");
      assert.equal(events.filter((e) => e === "[DONE]").length, 1);
      const text = events.slice(0, -1).map((e) =>
        JSON.parse(e).choices[0]?.delta?.content ?? ""
      ).join("");
      assert.equal(text, "Hello!");
      const [stalled, continued] = fake.chatRequests();
      await bounded(stalled!.aborted, "the stalled attempt's abort");
      assert.equal(continued!.model, SECOND);
      const messages = (continued!.body as { messages: unknown[] }).messages;
      assert.deepEqual(messages.at(-1), { role: "assistant", content: "Hel" });
      // The idle timeout ended it, not the end of the keep-alives.
      assert.ok(comments.sent.count < 200, "every keep-alive was waited for");
    } finally {
      await main.stop();
    }
  });
}

Deno.test("deno task start: with FREEROUTER_STREAM_RESUME=off, a committed stream whose upstream goes silent ends with stream_stalled, no [DONE], and the upstream request is aborted", async () => {
  await using fake = startFakeOpenRouter();
  fake.script(FIRST, {
    stream: {
      parts: [
        chunk(FIRST, { role: "assistant", content: "" }),
        chunk(FIRST, "Hel"),
        chunk(FIRST, "lo"),
      ],
      end: "hang",
    },
  });
  const main = await proxy(fake.baseUrl, {
    FREEROUTER_STREAM_IDLE_TIMEOUT: "3",
    FREEROUTER_STREAM_RESUME: "off",
  });
  try {
    const res = await post(main, ask(true));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-freerouter-model"), FIRST);
    const events = await dataEvents(res, main);
    const contents = events.slice(0, -1).map((e) =>
      JSON.parse(e).choices[0].delta.content
    );
    assert.deepEqual(contents, ["", "Hel", "lo"]);
    const last = JSON.parse(events.at(-1)!);
    assert.equal(last.error.code, "stream_stalled");
    assert.match(
      last.error.message,
      new RegExp(`${FIRST} broke off after 3 events: no event for 3 s`),
    );
    assert.ok(!events.includes("[DONE]"));
    const upstream = fake.chatRequests()[0]!;
    await bounded(upstream.aborted, "the upstream abort");
    assert.equal(fake.chatRequests().length, 1);
  } finally {
    await main.stop();
  }
});

Deno.test("deno task start: a stream that hangs before its first event times out, is aborted, and the next model answers", async () => {
  await using fake = startFakeOpenRouter();
  fake.script(FIRST, { hang: true });
  const main = await proxy(fake.baseUrl, { REQUEST_TIMEOUT: "3" });
  try {
    const res = await post(main, ask(true));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-freerouter-model"), SECOND);
    assert.equal(res.headers.get("x-freerouter-attempts"), "2");
    const events = await dataEvents(res, main);
    assert.equal(events.at(-1), "[DONE]");
    const [hung, answered] = fake.chatRequests();
    assert.equal(hung!.model, FIRST);
    assert.equal(answered!.model, SECOND);
    await bounded(hung!.aborted, "the hung attempt's abort");
  } finally {
    await main.stop();
  }
});

Deno.test("deno task start: a non-streaming attempt that hangs times out and falls back", async () => {
  await using fake = startFakeOpenRouter();
  fake.script(FIRST, { hang: true });
  const main = await proxy(fake.baseUrl, { REQUEST_TIMEOUT: "3" });
  try {
    const res = await post(main, ask(false));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-freerouter-model"), SECOND);
    const body = await res.json();
    assert.equal(body.model, SECOND);
    await bounded(fake.chatRequests()[0]!.aborted, "the hung attempt's abort");
  } finally {
    await main.stop();
  }
});

Deno.test("deno task start: a non-streaming answer that is only whitespace padding falls back at FREEROUTER_KEEPALIVE_TIMEOUT", async () => {
  await using fake = startFakeOpenRouter();
  using pacer = new Pacer();
  const padding = keepAlives(pacer, "\n", 200, 500);
  fake.script(FIRST, {
    stream: {
      status: 200,
      headers: { "content-type": "application/json" },
      parts: padding.parts,
      end: "hang",
    },
  });
  const main = await proxy(fake.baseUrl, {
    REQUEST_TIMEOUT: "3",
    FREEROUTER_KEEPALIVE_TIMEOUT: "4",
  });
  try {
    const res = await bounded(post(main, ask(false)), "the answer");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-freerouter-model"), SECOND);
    assert.equal((await res.json()).model, SECOND);
    await bounded(
      fake.chatRequests()[0]!.aborted,
      "the padded attempt's abort",
    );
    assert.ok(padding.sent.count < 200, "all the padding was waited for");
  } finally {
    await main.stop();
  }
});

Deno.test("deno task start: the limiter's wait for the account's minute reset ends and the request goes on", async () => {
  await using fake = startFakeOpenRouter();
  const main = await proxy(fake.baseUrl, { FREEROUTER_MAX_WAIT: "10" });
  try {
    // The account's per-minute cap, resetting in two seconds (scripted once
    // the proxy runs, so that its startup cannot eat the wait): freerouter
    // waits (FREEROUTER_MAX_WAIT allows it), then tries the same model again.
    fake.script(FIRST, minuteCap({ resetMs: Date.now() + 2_000 }));
    const res = await bounded(post(main, ask(false)), "the request");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-freerouter-model"), FIRST);
    assert.equal(res.headers.get("x-freerouter-attempts"), "2");
    await res.body?.cancel();
    assert.deepEqual(fake.chatRequests().map((r) => r.model), [FIRST, FIRST]);
  } finally {
    await main.stop();
  }
});

Deno.test("deno task start: a client that goes away while its attempt hangs aborts the upstream request", async () => {
  await using fake = startFakeOpenRouter();
  fake.script(FIRST, { hang: true });
  const main = await proxy(fake.baseUrl, { REQUEST_TIMEOUT: "60" });
  try {
    const client = new AbortController();
    const pending = post(main, ask(true), client.signal).catch((err) => err);
    await bounded(fake.waitForChatRequests(1), "the upstream request");
    client.abort();
    assert.equal((await pending).name, "AbortError");
    await bounded(fake.chatRequests()[0]!.aborted, "the upstream abort");
    assert.equal(fake.chatRequests().length, 1);
  } finally {
    await main.stop();
  }
});
