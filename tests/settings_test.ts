/**
 * One table of numeric settings (src/core/settings.ts) behind both the
 * library's options and the proxy's environment: the same defaults, the same
 * bounds, the same words.
 */
import assert from "node:assert/strict";
import { SETTINGS } from "../src/core/settings.ts";
import { createHandler } from "../src/http/handler.ts";
import { resolveRouterOptions } from "../src/options.ts";
import { parseServerConfig } from "../src/server/config.ts";

Deno.test("settings: the environment's defaults and the library's are the table's", () => {
  const config = parseServerConfig({});
  const options = resolveRouterOptions({});
  assert.equal(config.maxAttempts, SETTINGS.maxAttempts.default);
  assert.equal(options.maxAttempts, SETTINGS.maxAttempts.default);
  assert.equal(config.rpm, options.rpm);
  assert.equal(config.maxWait * 1000, options.maxWaitMs);
  assert.equal(config.cooldownSeconds * 1000, options.cooldownMs);
  assert.equal(config.modelRefreshTtl * 1000, options.modelRefreshTtlMs);
  assert.equal(config.requestTimeout * 1000, options.requestTimeoutMs);
  assert.equal(config.streamIdleTimeout * 1000, options.streamIdleTimeoutMs);
  assert.equal(config.maxBodyBytes, SETTINGS.maxBodyBytes.default);
});

const outOfBounds: Array<[keyof typeof SETTINGS, number, string]> = [
  ["maxAttempts", 101, "must be at most 100"],
  ["maxAttempts", 0, "must be at least 1"],
  ["maxAttempts", 2.5, "must be a whole number"],
  ["requestTimeout", 0, "must be greater than 0"],
  ["requestTimeout", 86_401, "must be at most 86400"],
  ["rpm", -1, "must be 0 (off) or more"],
  ["maxWait", 3_601, "must be at most 3600"],
  ["maxBodyBytes", 1_023, "must be at least 1024"],
  ["maxBodyBytes", 4_096.5, "must be a whole number"],
];
for (const [name, value, words] of outOfBounds) {
  Deno.test(`settings: ${name}=${value} is refused by both, in the same words (${words})`, () => {
    const setting = SETTINGS[name];
    assert.throws(
      () => parseServerConfig({ [setting.env]: String(value) }),
      { message: new RegExp(`${setting.env} ${escape(words)}`) },
    );
    assert.throws(
      // maxBodyBytes is the handler's option, the others the router's.
      () =>
        name === "maxBodyBytes"
          ? createHandler({ maxBodyBytes: value })
          : resolveRouterOptions({ [name]: value }),
      { name: "RangeError", message: new RegExp(`"${name}" ${escape(words)}`) },
    );
  });
}

function escape(text: string): string {
  return text.replace(/[()]/g, "\\$&");
}

Deno.test("settings: createHandler() refuses a maxBodyBytes that is not a number (NaN would turn the cap off)", () => {
  for (const value of [NaN, "2048" as unknown as number]) {
    assert.throws(() => createHandler({ maxBodyBytes: value }), {
      name: "RangeError",
      message: /"maxBodyBytes"/,
    });
  }
});
