/**
 * Several hosts on one store: a KV Connect URL in FREEROUTER_KV_PATH, with
 * its access token in DENO_KV_ACCESS_TOKEN (from the environment or from
 * `.env`). Through the real start command, whose `--allow-env` list must
 * let Deno read the token. The stand-in KV Connect server records the
 * token it was sent and refuses it (401), so the start stops with one line.
 */
import assert from "node:assert/strict";
import { runToEnd } from "./_deno_process.ts";

const TOKEN = "kv-connect-token-0123456789abcdef";

/**
 * A KV Connect metadata endpoint that records each request's Authorization
 * and answers 401; `echo` quotes the token it got in the 401's body.
 */
function kvConnectStandIn(echo = false) {
  const seen: Array<string | null> = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => {
      const auth = req.headers.get("authorization");
      seen.push(auth);
      return new Response(
        echo
          ? `invalid token ${auth?.replace(/^Bearer /, "")}`
          : "unauthorized",
        { status: 401 },
      );
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    seen,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

for (const from of ["the environment", ".env"] as const) {
  Deno.test(`deno task start sends DENO_KV_ACCESS_TOKEN from ${from} to a KV Connect URL, and stops with one line (exit 2) that shows no token when the store refuses it`, async () => {
    await using kv = kvConnectStandIn();
    const dir = await Deno.makeTempDir();
    try {
      const env: Record<string, string> = {
        OPENROUTER_API_KEY: "sk-or-v1-process-test",
        OPENROUTER_BASE_URL: "http://127.0.0.1:9/api/v1",
        FREEROUTER_KV_PATH: kv.url,
        PORT: "0",
      };
      if (from === ".env") {
        await Deno.writeTextFile(
          `${dir}/.env`,
          `DENO_KV_ACCESS_TOKEN=${TOKEN}\n`,
        );
      } else env.DENO_KV_ACCESS_TOKEN = TOKEN;
      const out = await runToEnd(env, dir);
      assert.equal(out.code, 2, out.stderr);
      assert.deepEqual(kv.seen, [`Bearer ${TOKEN}`]);
      assert.match(out.stderr, /Cannot open FREEROUTER_KV_PATH/);
      assert.doesNotMatch(out.stderr, /Requires env access/);
      assert.ok(!out.stderr.includes(TOKEN), out.stderr);
      assert.ok(!out.stdout.includes(TOKEN), out.stdout);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("deno task start's KV Connect error shows neither the token the store quotes back nor the URL's user and password, however the URL is written", async () => {
  await using kv = kvConnectStandIn(true);
  const { port } = new URL(kv.url);
  const dir = await Deno.makeTempDir();
  try {
    for (
      const path of [
        `http://kvuser:kvpass-0123@127.0.0.1:${port}/`,
        // Deno quotes the URL as it normalises it: another spelling.
        `http://kvuser:kvpass-0123@LOCALHOST:${port}/a/../db`,
        `HTTP://kvuser:kvpass-0123@127.0.0.1:${port}/`,
        // A quote in the password, and a normalised spelling.
        `http://kvuser:kv'pass-0123@LOCALHOST:${port}/db`,
      ]
    ) {
      const out = await runToEnd({
        OPENROUTER_API_KEY: "sk-or-v1-process-test",
        OPENROUTER_BASE_URL: "http://127.0.0.1:9/api/v1",
        FREEROUTER_KV_PATH: path,
        DENO_KV_ACCESS_TOKEN: TOKEN,
        PORT: "0",
      }, dir);
      assert.equal(out.code, 2, out.stderr);
      assert.match(out.stderr, /Cannot open FREEROUTER_KV_PATH/, path);
      for (const secret of [TOKEN, "pass-0123", "kvuser"]) {
        assert.ok(!out.stderr.includes(secret), `${path}: ${out.stderr}`);
      }
    }
    assert.equal(kv.seen.length, 4, "each spelling reached the store");
    assert.deepEqual([...Deno.readDirSync(dir)], [], "no directory was made");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
