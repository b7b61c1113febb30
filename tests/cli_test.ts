/**
 * The freerouter command line (src/server/main.ts): flags, subcommands, exit codes.
 */
import assert from "node:assert/strict";
import { parseCommandLine, run, USAGE } from "../src/server/main.ts";
import { VERSION } from "../src/version.ts";
import { ago } from "../src/server/cli_commands.ts";
import { captureIo, hello, manualClock, rig } from "./_harness.ts";
import {
  FREE_CHAT_IDS_IN_PRIORITY_ORDER as POOL,
  modelRpm,
  startFakeOpenRouter,
} from "./fake_openrouter/mod.ts";

const [A] = POOL as [string];

Deno.test("parseCommandLine() reads subcommands, --host and --port in both spellings", () => {
  assert.deepEqual(parseCommandLine([]), { command: "serve" });
  assert.deepEqual(parseCommandLine(["models"]), { command: "models" });
  assert.deepEqual(parseCommandLine(["--port", "9000", "--host=0.0.0.0"]), {
    command: "serve",
    port: "9000",
    host: "0.0.0.0",
  });
  assert.deepEqual(parseCommandLine(["serve", "--port=1"]), {
    command: "serve",
    port: "1",
  });
  assert.deepEqual(parseCommandLine(["check", "--help"]), { command: "help" });
  assert.deepEqual(parseCommandLine(["-V"]), { command: "version" });
  assert.deepEqual(parseCommandLine(["--", "models"]), { command: "models" });
});

Deno.test("parseCommandLine() reports unknown options, commands and missing values", () => {
  assert.deepEqual(parseCommandLine(["--nope"]), {
    command: "usage_error",
    message: "Unknown option: --nope",
  });
  assert.deepEqual(parseCommandLine(["launch"]), {
    command: "usage_error",
    message: "Unknown command: launch",
  });
  assert.deepEqual(parseCommandLine(["models", "check"]), {
    command: "usage_error",
    message: "Unexpected argument: check",
  });
  assert.deepEqual(parseCommandLine(["--port"]), {
    command: "usage_error",
    message: "--port needs a value",
  });
});

Deno.test("run() prints help and the version with exit code 0, usage errors with 2", async () => {
  const help = captureIo();
  assert.equal(await run(["--help"], {}, help.io), 0);
  assert.equal(help.out.join(), USAGE);
  const version = captureIo();
  assert.equal(await run(["--version"], {}, version.io), 0);
  assert.deepEqual(version.out, [`freerouter ${VERSION}`]);
  const bad = captureIo();
  assert.equal(await run(["--bogus"], {}, bad.io), 2);
  assert.match(bad.err.join(), /Unknown option: --bogus/);
});

Deno.test("VERSION matches deno.json", async () => {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
  );
  assert.equal(VERSION, config.version);
});

Deno.test("run() lets --port override PORT: a bad flag value is a configuration error naming PORT", async () => {
  const c = captureIo();
  assert.equal(await run(["--port", "70000"], { PORT: "8000" }, c.io), 2);
  assert.match(
    c.err.join(),
    /PORT must be between 0 and 65535 \(got "70000"\)/,
  );
});

Deno.test("run() refuses a non-loopback --host without FREEROUTER_API_KEY", async () => {
  const c = captureIo();
  assert.equal(
    await run(["--host", "0.0.0.0", "--port", "0"], {
      FREEROUTER_KV_PATH: ":memory:",
    }, c.io),
    2,
  );
  assert.match(
    c.err.join(),
    /Refusing to listen on 0\.0\.0\.0 without FREEROUTER_API_KEY/,
  );
});

Deno.test("run() models prints the pool ranked for auto with capabilities and cooldown state, then the aliases", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using fake = startFakeOpenRouter();
    const reset = Date.now() + 10 * 60_000;
    fake.script(A, modelRpm(A, { resetMs: reset }));
    {
      using kv = await Deno.openKv(`${dir}/kv.sqlite`);
      await using r = rig({ fake, kv, clock: manualClock(Date.now()) });
      await (await r.chat(hello())).body?.cancel();
    }
    const c = captureIo();
    const code = await run(["models"], {
      OPENROUTER_BASE_URL: fake.baseUrl,
      FREEROUTER_KV_PATH: `${dir}/kv.sqlite`,
      FREEROUTER_STRATEGY: "priority",
    }, c.io);
    assert.equal(code, 0, c.err.join());
    const text = c.out.join("\n");
    assert.match(
      text,
      new RegExp(
        `^${POOL.length} free models, ranked for auto \\(strategy priority; one cooling down is tried after the ready ones\\); OpenRouter listed them at \\S+ \\(just now\\):`,
      ),
    );
    const rows = text.split("\n\n")[1]!.split("\n").slice(1);
    assert.deepEqual(rows.map((row) => row.split(/\s+/)[1]), POOL);
    assert.deepEqual(
      rows.map((row) => Number(row.split(/\s+/)[0])),
      POOL.map((_, i) => i + 1),
    );
    assert.match(text, /^auto:coding +\S/m);
    const rowA = rows.find((row) => row.split(/\s+/)[1] === A)!;
    assert.match(rowA, /1,048,576/);
    assert.match(
      rowA,
      new RegExp(
        `cooling down until ${new Date(reset).toISOString()} \\(429\\)`,
      ),
    );
    assert.match(rows[1]!, /ready$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("run() models says how old the list is: one kept in KV, printed while OpenRouter cannot be reached, reads its age", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const listed = Date.now() - (3 * 60 + 5) * 60_000;
    {
      await using fake = startFakeOpenRouter();
      using kv = await Deno.openKv(`${dir}/kv.sqlite`);
      await using r = rig({ fake, kv, clock: manualClock(listed) });
      await (await r.chat(hello())).body?.cancel();
    }
    const c = captureIo();
    const code = await run(["models"], {
      OPENROUTER_BASE_URL: "http://127.0.0.1:9/api/v1", // nothing listens
      FREEROUTER_KV_PATH: `${dir}/kv.sqlite`,
    }, c.io);
    assert.equal(code, 0, c.err.join());
    assert.match(
      c.out.join("\n"),
      new RegExp(
        `^${POOL.length} free models, .*; OpenRouter listed them at ${
          new Date(listed).toISOString()
        } \\(3 h 5 min ago\\):`,
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("run() models fetches a list kept past its TTL again when OpenRouter answers, and prints the new one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using fake = startFakeOpenRouter();
    {
      using kv = await Deno.openKv(`${dir}/kv.sqlite`);
      await using r = rig({
        fake,
        kv,
        clock: manualClock(Date.now() - 3 * 3600_000),
      });
      await (await r.chat(hello())).body?.cancel();
    }
    fake.models = fake.models.filter((m) => (m as { id?: string }).id !== A);
    const c = captureIo();
    const code = await run(["models"], {
      OPENROUTER_BASE_URL: fake.baseUrl,
      FREEROUTER_KV_PATH: `${dir}/kv.sqlite`,
    }, c.io);
    assert.equal(code, 0, c.err.join());
    const text = c.out.join("\n");
    assert.match(
      text,
      new RegExp(`^${POOL.length - 1} free models, .*\\(just now\\):`),
    );
    assert.ok(!text.includes(A), "the model that left the pool");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ago() says an age as a person would", () => {
  assert.equal(ago(59_999), "just now");
  assert.equal(ago(60_000), "1 min ago");
  assert.equal(ago((2 * 60 + 7) * 60_000), "2 h 7 min ago");
  assert.equal(ago(50 * 3600_000), "2 days ago");
});

/** Runs `check` with the key `sk-or-v1-check-secret` against `fake`; its output, after an exit 0. */
async function checkOutput(
  fake: { baseUrl: string },
): Promise<string> {
  const c = captureIo();
  const code = await run(["check"], {
    OPENROUTER_API_KEY: "sk-or-v1-check-secret",
    OPENROUTER_BASE_URL: fake.baseUrl,
  }, c.io);
  assert.equal(code, 0, c.err.join());
  return c.out.join("\n");
}

Deno.test("run() check prints the key's tier, usage and today's free-model quota", async () => {
  await using fake = startFakeOpenRouter({
    key: {
      free_model_daily_requests: { used: 12, limit: 50, remaining: 38 },
      usage: 0.5,
      usage_daily: 0.25,
    },
  });
  const text = await checkOutput(fake);
  assert.match(text, /Tier: +free \(never purchased credits\)/);
  assert.match(text, /Usage: +\$0\.50 total, \$0\.25 today/);
  assert.match(text, /Free models today: 12 of 50 used, 38 left/);
  assert.doesNotMatch(text, /check-secret/);
  assert.equal(
    fake.keyRequests()[0]!.headers.get("authorization"),
    "Bearer sk-or-v1-check-secret",
  );
});

Deno.test("run() check shows no key that a /key field quotes (limit_reset is free text)", async () => {
  await using fake = startFakeOpenRouter({
    key: {
      limit: 10,
      limit_remaining: 5,
      limit_reset: "monthly for sk-or-v1-check-secret",
    },
  });
  const text = await checkOutput(fake);
  assert.match(text, /Credit limit: +\$10\.00 \(\$5\.00 left, resets monthly/);
  assert.doesNotMatch(text, /check-secret/);
});

Deno.test("run() check exits 1 when OpenRouter rejects the key and 2 when there is none", async () => {
  await using fake = startFakeOpenRouter();
  const rejected = captureIo();
  assert.equal(
    await run(["check"], {
      OPENROUTER_API_KEY: "not-a-real-key",
      OPENROUTER_BASE_URL: fake.baseUrl,
    }, rejected.io),
    1,
  );
  assert.deepEqual(rejected.out, []);
  assert.match(
    rejected.err.join(),
    /OpenRouter rejected the key \(401: User not found\.\)/,
  );
  const missing = captureIo();
  assert.equal(
    await run(["check"], { OPENROUTER_BASE_URL: fake.baseUrl }, missing.io),
    2,
  );
  assert.match(missing.err.join(), /OPENROUTER_API_KEY is not set/);
});
