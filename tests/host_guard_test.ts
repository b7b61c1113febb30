/**
 * DNS rebinding: a proxy listening on loopback (the default) answers only
 * requests whose `Host` names this machine. Through the real start command;
 * handler_host_guard_test.ts checks the library's `createHandler()`, where
 * the guard lives.
 */
import assert from "node:assert/strict";
import { startMain } from "./_deno_process.ts";
import { startFakeOpenRouter } from "./fake_openrouter/mod.ts";
import { isLoopbackHost } from "../src/http/host_guard.ts";

/** One raw HTTP/1.1 request with the given Host header: its status and body. */
async function withHost(
  url: string,
  host: string,
  path: string,
  extra = "",
): Promise<{ status: number; head: string; body: string }> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  await conn.write(
    new TextEncoder().encode(
      `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}Connection: close\r\n\r\n`,
    ),
  );
  const text = await new Response(conn.readable).text();
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
  const end = text.indexOf("\r\n\r\n");
  return { status, head: text.slice(0, end), body: text.slice(end + 4) };
}

Deno.test("isLoopbackHost() takes localhost, *.localhost, 127.0.0.0/8 and [::1], with or without a port, and nothing else", () => {
  for (
    const host of [
      "localhost",
      "localhost:8000",
      "LOCALHOST.:8000",
      "app.localhost:3000",
      "127.0.0.1",
      "127.1.2.3:8000",
      "[::1]:8000",
      "[::1]",
    ]
  ) assert.equal(isLoopbackHost(host), true, host);
  for (
    const host of [
      "evil.example",
      "evil.example:8000",
      "localhost.evil.example",
      "127.0.0.1.evil.example",
      "10.0.0.1:8000",
      "[::2]:8000",
      "",
    ]
  ) assert.equal(isLoopbackHost(host), false, host);
});

Deno.test("deno task start on loopback refuses a request whose Host names another machine (403 host_not_allowed), and serves localhost", async () => {
  await using fake = startFakeOpenRouter();
  const main = await startMain({
    OPENROUTER_API_KEY: "sk-or-v1-process-test",
    OPENROUTER_BASE_URL: fake.baseUrl,
    FREEROUTER_KV_PATH: ":memory:",
  });
  try {
    const port = new URL(main.url).port;
    for (const path of ["/health", "/v1/freerouter/status", "/v1/models"]) {
      const refused = await withHost(main.url, `evil.example:${port}`, path);
      assert.equal(refused.status, 403, `${path}: ${refused.body}`);
      assert.equal(JSON.parse(refused.body).error.code, "host_not_allowed");
      assert.doesNotMatch(refused.body, /pool_size|models/);
    }
    const anthropic = await withHost(
      main.url,
      `evil.example:${port}`,
      "/v1/models",
      "anthropic-version: 2023-06-01\r\n",
    );
    assert.equal(anthropic.status, 403);
    assert.equal(JSON.parse(anthropic.body).error.type, "permission_error");
    // As every answer, with its request id (where Anthropic's SDK reads it too).
    const id = /^request-id: (\S+)/im.exec(anthropic.head)?.[1];
    assert.match(id ?? "", /./, anthropic.head);
    assert.equal(JSON.parse(anthropic.body).request_id, id);
    assert.match(anthropic.head, new RegExp(`^x-request-id: ${id}`, "im"));
    // The Messages route answers in Anthropic's shape, header or not.
    const messages = await withHost(
      main.url,
      `evil.example:${port}`,
      "/v1/messages",
    );
    assert.equal(messages.status, 403);
    assert.equal(JSON.parse(messages.body).type, "error", messages.body);
    assert.equal(JSON.parse(messages.body).error.type, "permission_error");
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`]) {
      const served = await withHost(main.url, host, "/health");
      assert.equal(served.status, 200, `${host}: ${served.body}`);
    }
  } finally {
    await main.stop(); // all of stderr read
  }
  // Logged once per host, however many requests it sent.
  const logged = main.stderr().match(/Refused a request for Host/g) ?? [];
  assert.equal(logged.length, 1, main.stderr());
});

Deno.test("deno task start on loopback with FREEROUTER_API_KEY serves any Host (a tunnel or a reverse proxy keeps the public name)", async () => {
  await using fake = startFakeOpenRouter();
  const main = await startMain({
    OPENROUTER_API_KEY: "sk-or-v1-process-test",
    OPENROUTER_BASE_URL: fake.baseUrl,
    FREEROUTER_KV_PATH: ":memory:",
    FREEROUTER_API_KEY: "fr-access-key-0123",
  });
  try {
    const host = "freerouter.example.com";
    const health = await withHost(main.url, host, "/health");
    assert.equal(health.status, 200, health.body);
    const status = await withHost(
      main.url,
      host,
      "/v1/freerouter/status",
      "Authorization: Bearer fr-access-key-0123\r\n",
    );
    assert.equal(status.status, 200, status.body);
    const unauthorised = await withHost(
      main.url,
      host,
      "/v1/freerouter/status",
    );
    assert.equal(unauthorised.status, 401);
  } finally {
    await main.stop();
  }
});

Deno.test("deno task start on a non-loopback address without keys (FREEROUTER_ALLOW_OPEN) refuses a web page's request even when its Origin matches Host, unless FREEROUTER_CORS_ORIGINS lists it", async () => {
  await using fake = startFakeOpenRouter();
  const main = await startMain({
    OPENROUTER_API_KEY: "sk-or-v1-process-test",
    OPENROUTER_BASE_URL: fake.baseUrl,
    FREEROUTER_KV_PATH: ":memory:",
    HOST: "0.0.0.0",
    FREEROUTER_ALLOW_OPEN: "1",
    FREEROUTER_CORS_ORIGINS: "https://app.example",
  });
  const url = main.url.replace("0.0.0.0", "127.0.0.1");
  try {
    const port = new URL(url).port;
    // A rebinding page: its own name in Host and in Origin.
    const rebound = await withHost(
      url,
      `evil.example:${port}`,
      "/v1/models",
      `Origin: http://evil.example:${port}\r\n`,
    );
    assert.equal(rebound.status, 403, rebound.body);
    assert.equal(JSON.parse(rebound.body).error.code, "origin_not_allowed");
    const listed = await withHost(
      url,
      `freerouter.lan:${port}`,
      "/v1/models",
      "Origin: https://app.example\r\n",
    );
    assert.equal(listed.status, 200, listed.body);
    // Clients that are not pages send no Origin, whatever name they use.
    const sdk = await withHost(url, `freerouter.lan:${port}`, "/v1/models");
    assert.equal(sdk.status, 200, sdk.body);
  } finally {
    await main.stop();
  }
});
