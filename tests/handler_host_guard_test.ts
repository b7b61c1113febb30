/**
 * DNS rebinding, in the library: `createHandler` without a key answers only
 * requests whose `Host` names this machine, as the server does
 * (host_guard_test.ts runs the same rules through the real start command).
 * A library user serving it with `Deno.serve` on localhost gets the same
 * protection as `deno task start`.
 */
import assert from "node:assert/strict";
import { FIRST_MESSAGE, hello, rig, type RigOptions } from "./_harness.ts";
import { assertAnthropicError } from "./fault_injection/_helpers.ts";
import type { Logger } from "../src/mod.ts";

/** A logger that keeps its warnings. */
function keptWarnings(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    logger: { info() {}, warn: (m) => void warnings.push(m) },
  };
}

/** Headers of a request that names `host` (and, when given, comes from a page at `origin`). */
function from(host: string, origin?: string): Record<string, string> {
  return origin === undefined ? { host } : { host, origin };
}

Deno.test("createHandler without a key refuses a request whose Host names another machine (403 host_not_allowed, in the front's shape) before any upstream call, and serves loopback names and in-process requests", async () => {
  const { logger, warnings } = keptWarnings();
  await using r = rig({ logger });
  for (const path of ["/health", "/v1/freerouter/status", "/v1/models", "/"]) {
    const res = await r.request(path, { headers: from("evil.example:8000") });
    assert.equal(res.status, 403, path);
    const body = await res.json();
    assert.equal(body.error.code, "host_not_allowed", path);
    assert.match(res.headers.get("x-request-id") ?? "", /./);
  }
  const chat = await r.chat(hello(), { headers: from("evil.example:8000") });
  assert.equal(chat.status, 403);
  assert.equal((await chat.json()).error.code, "host_not_allowed");
  const messages = await r.request("/v1/messages", {
    method: "POST",
    headers: { ...from("evil.example"), "content-type": "application/json" },
    body: JSON.stringify(FIRST_MESSAGE),
  });
  await assertAnthropicError(messages, 403, "permission_error");
  // No upstream call was made for any of them, not even the catalog.
  assert.equal(r.fake.requests.length, 0);
  // The first refusal of each host is logged, once.
  assert.equal(
    warnings.filter((w) => /Refused a request for Host/.test(w)).length,
    2,
    warnings.join("\n"),
  );

  for (const host of ["localhost:8000", "127.0.0.1:8000", "[::1]:8000"]) {
    const served = await r.chat(hello(), { headers: from(host) });
    assert.equal(served.status, 200, host);
    await served.body?.cancel();
  }
  // A Request made in-process carries no Host.
  const inProcess = await r.chat(hello());
  assert.equal(inProcess.status, 200);
  await inProcess.body?.cancel();
});

for (
  const [what, options] of [
    ["an access key", { accessKey: "fr-access-key-0123" }],
    ["client keys", {
      clientKeys: [{ name: "alice", key: "fr-alice-key-0123" }],
    }],
  ] as const satisfies ReadonlyArray<readonly [string, RigOptions]>
) {
  Deno.test(`createHandler with ${what} serves any Host (a tunnel or a reverse proxy keeps the public name)`, async () => {
    await using r = rig(options);
    const key = "accessKey" in options
      ? options.accessKey
      : options.clientKeys[0].key;
    const res = await r.chat(hello(), {
      headers: {
        ...from("freerouter.example.com"),
        authorization: `Bearer ${key}`,
      },
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    const refused = await r.chat(hello(), {
      headers: from("freerouter.example.com"),
    });
    assert.equal(refused.status, 401);
    await refused.body?.cancel();
  });
}

Deno.test("createHandler with allowOpen and no key serves any Host, but refuses a web page's request even when its Origin matches Host, unless corsOrigins lists it", async () => {
  await using r = rig({
    allowOpen: true,
    corsOrigins: ["https://app.example"],
  });
  const sdk = await r.chat(hello(), { headers: from("freerouter.lan:8000") });
  assert.equal(sdk.status, 200);
  await sdk.body?.cancel();
  // As Deno.serve builds it: the URL names the Host, so the page's Origin
  // is the request's own.
  const rebound = await r.handler(
    new Request("http://evil.example:8000/v1/models", {
      headers: from("evil.example:8000", "http://evil.example:8000"),
    }),
  );
  assert.equal(rebound.status, 403);
  assert.equal((await rebound.json()).error.code, "origin_not_allowed");
  const listed = await r.request("/v1/models", {
    headers: from("freerouter.lan:8000", "https://app.example"),
  });
  assert.equal(listed.status, 200);
  assert.equal(
    listed.headers.get("access-control-allow-origin"),
    "https://app.example",
  );
  await listed.body?.cancel();
});
