/**
 * Fault injection, state faults: an unusable FREEROUTER_KV_PATH, a KV in
 * memory, and a process killed right after writing a cooldown.
 */
import assert from "node:assert/strict";
import { runToEnd, startMain } from "../_deno_process.ts";
import { ConfigError, parseServerConfig } from "../../src/server/config.ts";
import { serve } from "../../src/server/serve.ts";
import { hello } from "../_harness.ts";
import {
  FREE_CHAT_IDS_IN_PRIORITY_ORDER as POOL,
  modelRpm,
  startFakeOpenRouter,
} from "../fake_openrouter/mod.ts";
import {
  postChat,
  quiet,
  test,
  testNoRejectionLeft,
  withTempDir,
} from "./_helpers.ts";

const [A, B] = POOL as [string, string];

// ===========================================================================
// State faults

const KV_FAULTS: Array<[string, (dir: string) => Promise<string>]> = [
  ["its parent is a regular file", async (dir) => {
    await Deno.writeTextFile(`${dir}/file`, "x");
    return `${dir}/file/kv.sqlite`;
  }],
  ["it is a directory", async (dir) => {
    await Deno.mkdir(`${dir}/kv.sqlite`);
    return `${dir}/kv.sqlite`;
  }],
  ["the file holds random bytes", async (dir) => {
    await Deno.writeFile(
      `${dir}/kv.sqlite`,
      crypto.getRandomValues(new Uint8Array(16 * 1024)),
    );
    return `${dir}/kv.sqlite`;
  }],
  ["the file holds text", async (dir) => {
    await Deno.writeTextFile(
      `${dir}/kv.sqlite`,
      "this is not a database\n".repeat(1000),
    );
    return `${dir}/kv.sqlite`;
  }],
  [
    "it is on a read-only file system",
    () => Promise.resolve("/proc/freerouter-fault-test/kv.sqlite"),
  ],
];

for (const [name, prepare] of KV_FAULTS) {
  test(`createHandler() behind src/server/main.ts exits non-zero with one line naming FREEROUTER_KV_PATH when ${name}`, async () => {
    await withTempDir(async (dir) => {
      const path = await prepare(dir);
      const { code, stdout, stderr } = await runToEnd({
        OPENROUTER_API_KEY: "sk-or-v1-kvfault-UPSTREAM-SECRET-91f2",
        FREEROUTER_API_KEY: "kvfault-ACCESS-SECRET-5d07",
        OPENROUTER_BASE_URL: "http://127.0.0.1:9/api/v1",
        FREEROUTER_KV_PATH: path,
      });
      assert.notEqual(code, 0);
      const lines = stderr.trim().split("\n");
      assert.equal(lines.length, 1, stderr);
      assert.match(lines[0]!, /^freerouter: /);
      assert.ok(lines[0]!.includes(path), stderr);
      assert.match(lines[0]!, /FREEROUTER_KV_PATH/);
      assert.doesNotMatch(stderr, /listening on/);
      assert.doesNotMatch(stderr, /\bat .*\.ts:\d+/, "no stack trace");
      assert.doesNotMatch(stderr + stdout, /SECRET/, "no key printed");
    });
  });
}

test("createHandler() behind serve() rejects with a ConfigError naming the path when FREEROUTER_KV_PATH is unusable", async () => {
  await withTempDir(async (dir) => {
    for (const [name, prepare] of KV_FAULTS) {
      const sub = `${dir}/${KV_FAULTS.findIndex(([n]) => n === name)}`;
      await Deno.mkdir(sub);
      const path = await prepare(sub);
      const config = parseServerConfig({
        PORT: "0",
        FREEROUTER_KV_PATH: path,
        OPENROUTER_BASE_URL: "http://127.0.0.1:9/api/v1",
      });
      await assert.rejects(serve(config, quiet), (err: unknown) => {
        assert.ok(err instanceof ConfigError, `${name}: ${err}`);
        assert.ok(err.message.includes(path), err.message);
        return true;
      });
    }
  });
});

test("createHandler() behind src/server/main.ts keeps nothing between runs when FREEROUTER_KV_PATH=:memory:", async () => {
  await withTempDir(async (cwd) => {
    await using fake = startFakeOpenRouter();
    fake.script(A, modelRpm(A, { resetMs: Date.now() + 10 * 60_000 }));
    const env = {
      OPENROUTER_API_KEY: "sk-or-v1-test",
      OPENROUTER_BASE_URL: fake.baseUrl,
      FREEROUTER_KV_PATH: ":memory:",
      FREEROUTER_RPM: "0",
    };
    for (const expected of [B, A]) {
      const main = await startMain(env, cwd);
      try {
        const res = await postChat(main.url, hello());
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("x-freerouter-model"), expected);
        await res.body?.cancel();
      } finally {
        assert.equal((await main.stop()).code, 0);
      }
    }
    assert.deepEqual(
      fake.chatRequests().map((q) => q.model),
      [A, B, A],
      "the second run did not know A's cooldown",
    );
    const written: string[] = [];
    for await (const entry of Deno.readDir(cwd)) written.push(entry.name);
    assert.deepEqual(written, [], "nothing written to disk");
  });
});

test("createHandler() behind src/server/main.ts skips a model after a restart when its cooldown was written just before the process was killed", async () => {
  await withTempDir(async (dir) => {
    await using fake = startFakeOpenRouter();
    fake.script(A, modelRpm(A, { resetMs: Date.now() + 10 * 60_000 }));
    const env = {
      OPENROUTER_API_KEY: "sk-or-v1-test",
      OPENROUTER_BASE_URL: fake.baseUrl,
      FREEROUTER_KV_PATH: `${dir}/kv.sqlite`,
      FREEROUTER_RPM: "0",
    };
    const first = await startMain(env);
    let killed: Deno.CommandStatus;
    try {
      const res = await postChat(first.url, hello());
      assert.equal(res.headers.get("x-freerouter-model"), B);
      await res.body?.cancel();
    } finally {
      killed = await first.stop("SIGKILL");
    }
    assert.equal(killed.signal, "SIGKILL");
    assert.deepEqual(fake.chatRequests().map((q) => q.model), [A, B]);

    const second = await startMain(env);
    try {
      const res = await postChat(second.url, hello());
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-freerouter-model"), B);
      assert.equal(res.headers.get("x-freerouter-attempts"), "1");
      await res.body?.cancel();
    } finally {
      assert.equal((await second.stop()).code, 0);
    }
    assert.deepEqual(
      fake.chatRequests().map((q) => q.model),
      [A, B, B],
      "A was skipped after the crash",
    );
  });
});

testNoRejectionLeft();
