/**
 * Stopping the proxy as `deno task start` runs it (same flags, same entry
 * point): the first SIGINT or SIGTERM stops taking requests and lets the open
 * ones end; a second one stops at once, so a stream that takes minutes (or
 * hangs) never holds a Ctrl-C hostage. Order is checked by events: the
 * shutdown's log line, the upstream's gate, the exit.
 */
import assert from "node:assert/strict";
import { deferred, within } from "./_async.ts";
import {
  denoProcess,
  MAIN,
  type MainProcess,
  startMain,
} from "./_deno_process.ts";
import {
  chunk,
  DONE,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER,
  startFakeOpenRouter,
} from "./fake_openrouter/mod.ts";
import { SIGNAL_REPEAT_MS } from "../src/server/main.ts";

const FIRST = FREE_CHAT_IDS_IN_PRIORITY_ORDER[0]!;
const SHUTTING_DOWN = /Shutting down once the open requests end/;

/** A stream that sends "Hel", waits for `gate`, then "lo" and its end. */
function gatedStream(gate: Promise<void>) {
  return {
    stream: {
      parts: [
        chunk(FIRST, { role: "assistant", content: "" }),
        chunk(FIRST, "Hel"),
        () => gate,
        chunk(FIRST, "lo", "stop"),
        DONE,
      ],
    },
  };
}

/** Starts the proxy, opens a stream and reads until "Hel" has arrived. */
async function openStream(baseUrl: string, via: "run" | "task" = "run") {
  const main = await startMain(
    {
      OPENROUTER_API_KEY: "sk-or-v1-process-test",
      OPENROUTER_BASE_URL: baseUrl,
      FREEROUTER_KV_PATH: ":memory:",
      FREEROUTER_STREAM_IDLE_TIMEOUT: "300",
    },
    undefined,
    via,
  );
  const res = await fetch(`${main.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: "auto",
      stream: true,
      messages: [{ role: "user", content: "Hello" }],
    }),
  });
  assert.equal(res.status, 200);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("Hel")) {
    const { done, value } = await within(reader.read(), "the first text");
    if (done) assert.fail(`the stream ended early: ${text}`);
    text += value;
  }
  const rest = async () => {
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({
        done: true,
        value: undefined,
      }));
      if (done) return text;
      text += value;
    }
  };
  return { main, rest };
}

/**
 * Sends the first signal and waits for the shutdown's line; resolves with
 * when the line was seen (the process took the signal before it wrote it).
 */
async function shuttingDown(
  main: MainProcess,
  signal: Deno.Signal = "SIGTERM",
): Promise<number> {
  main.kill(signal);
  await within(main.logged(SHUTTING_DOWN), "the shutdown's log line");
  return performance.now();
}

/**
 * Resolves once SIGNAL_REPEAT_MS have passed since `taken`: the same signal
 * before then is the same stop (the copy `deno task` forwards), so the time
 * that passes is the behaviour under test, not a synchronisation.
 */
function pastRepeatWindow(taken: number): Promise<void> {
  const left = SIGNAL_REPEAT_MS - (performance.now() - taken);
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, left)));
}

Deno.test("deno task start: SIGTERM lets an open stream finish, then exits 0", async () => {
  await using fake = startFakeOpenRouter();
  const gate = deferred();
  fake.script(FIRST, gatedStream(gate.promise));
  const { main, rest } = await openStream(fake.baseUrl);
  await shuttingDown(main);
  gate.resolve(); // the upstream goes on only after the signal
  const text = await within(rest(), "the rest of the stream");
  assert.match(text, /"lo"/);
  assert.match(text, /data: \[DONE\]/);
  assert.equal((await within(main.exited, "the exit")).code, 0);
  assert.match(main.stderr(), /Stopped: every open request ended/);
  assert.doesNotMatch(main.stderr(), /stopped at once/);
});

Deno.test("deno task start: a second SIGTERM stops at once (exit 143) while a stream is still open", async () => {
  await using fake = startFakeOpenRouter();
  const gate = deferred(); // never opened: the upstream hangs after "Hel"
  fake.script(FIRST, gatedStream(gate.promise));
  const { main, rest } = await openStream(fake.baseUrl);
  await pastRepeatWindow(await shuttingDown(main));
  main.kill("SIGTERM");
  assert.equal((await within(main.exited, "the forced exit")).code, 143);
  assert.match(
    main.stderr(),
    /stopped at once by a second SIGTERM: requests still open were cut/,
  );
  assert.doesNotMatch(main.stderr(), /Stopped: every open request ended/);
  const text = await within(rest(), "the cut stream's end");
  assert.doesNotMatch(text, /\[DONE\]/);
  gate.resolve();
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.test(`deno task start, run by deno task in its own process group: one ${signal} to the group (a terminal's Ctrl-C, a service manager's stop; the task runner forwards a copy) lets an open stream finish, then exits 0`, async () => {
    await using fake = startFakeOpenRouter();
    const gate = deferred();
    fake.script(FIRST, gatedStream(gate.promise));
    const { main, rest } = await openStream(fake.baseUrl, "task");
    main.kill(signal);
    await within(main.logged(SHUTTING_DOWN), "the shutdown's log line");
    gate.resolve();
    const text = await within(rest(), "the rest of the stream");
    assert.match(text, /data: \[DONE\]/);
    assert.equal((await within(main.exited, "the exit")).code, 0);
  });
}

Deno.test("deno task start: SIGINT then SIGINT stops at once with exit 130", async () => {
  await using fake = startFakeOpenRouter();
  const gate = deferred();
  fake.script(FIRST, gatedStream(gate.promise));
  const { main, rest } = await openStream(fake.baseUrl);
  await pastRepeatWindow(await shuttingDown(main, "SIGINT"));
  main.kill("SIGINT");
  assert.equal((await within(main.exited, "the forced exit")).code, 130);
  await within(rest(), "the cut stream's end");
  gate.resolve();
});

Deno.test("deno task start: a SIGTERM sent as soon as the listening line is out shuts down (exit 0, the shutdown's line), every time", async () => {
  await using fake = startFakeOpenRouter();
  // The listeners used to be added only after startup returned: a signal in
  // between met the runtime's default (exit 143, no shutdown, KV not closed).
  for (let round = 0; round < 5; round++) {
    const main = await startMain({
      OPENROUTER_API_KEY: "sk-or-v1-process-test",
      OPENROUTER_BASE_URL: fake.baseUrl,
      FREEROUTER_KV_PATH: ":memory:",
    });
    main.kill("SIGTERM");
    const status = await within(main.exited, "the exit");
    assert.equal(status.code, 0, `round ${round}:\n${main.stderr()}`);
    assert.match(main.stderr(), SHUTTING_DOWN);
  }
});

Deno.test("deno task start: a SIGTERM while the start hangs (its client keys file is a FIFO nobody writes) exits at once with 143, by freerouter's own exit", async () => {
  const dir = await Deno.makeTempDir();
  const fifo = `${dir}/clients.json`;
  try {
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert.equal(made.code, 0, "mkfifo");
    const child = denoProcess(MAIN, {
      env: {
        OPENROUTER_API_KEY: "sk-or-v1-process-test",
        FREEROUTER_KV_PATH: ":memory:",
        FREEROUTER_CLIENT_KEYS: fifo,
        PORT: "0",
      },
    });
    // Opening the FIFO for writing returns once the start opened it to read:
    // the start is then waiting on it, with its signal listeners in place.
    const writer = await within(
      Deno.open(fifo, { write: true }),
      "the start opening its keys file",
    );
    child.kill("SIGTERM");
    const status = await within(child.status, "the exit");
    writer.close();
    await child.stdout.cancel();
    await child.stderr.cancel();
    assert.equal(status.code, 143);
    assert.equal(
      status.signal,
      null,
      "freerouter exited, not the runtime's default",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
