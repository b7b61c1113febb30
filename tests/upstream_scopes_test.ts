/**
 * OpenRouter errors whose scope is not one model (../shared/openrouter-api.md
 * §3.2, §3.4), through the handler: an account's 402 and a key's guardrail
 * 403 go back to the client after one attempt (every model would answer the
 * same); a model the catalog still lists but OpenRouter no longer serves is
 * benched until the catalog refresh instead of failing every `auto` request;
 * request-specific refusals (moderation, output modalities, a forced tool
 * choice) leave the model usable for other requests; a 503 with a retry hint
 * cools the model until then.
 */
import assert from "node:assert/strict";
import { hello, HELLO_ON_EVERY_FRONT, postJson } from "./_harness.ts";
import {
  availabilityError,
  guardrail403,
  insufficientCredits402,
  invalidModel400,
  moderation403,
  outputModalities404,
  toolChoice404,
} from "./fake_openrouter/mod.ts";
import { A, B, models, quotaRig, status, weather } from "./_quota.ts";

for (
  const [name, step, anthropicType] of [
    [
      "OpenRouter's 402 (the account's credits)",
      insufficientCredits402,
      "billing_error",
    ],
    ["a guardrail 403 (the key's policy)", guardrail403, "permission_error"],
  ] as const
) {
  Deno.test(`${name} goes back to the client after one attempt, on every front, and leaves the models usable`, async () => {
    await using r = quotaRig({ modelRefreshTtl: 3600 });
    for (const [path, body] of HELLO_ON_EVERY_FRONT) {
      const before = models(r).length;
      r.fake.script(A, step());
      const res = await postJson(r, path, body);
      const expected = step() as { status: number; body: unknown };
      assert.equal(res.status, expected.status, path);
      const got = await res.json();
      if (path === "/v1/messages") {
        assert.equal(got.type, "error");
        assert.equal(got.error.type, anthropicType);
      } else {
        assert.equal(
          got.error.message,
          (expected.body as { error: { message: string } }).error.message,
        );
      }
      assert.deepEqual(models(r).slice(before), [A], `${path}: one attempt`);
    }
    const after = await r.chat(hello());
    assert.equal(after.headers.get("x-freerouter-model"), A, "not benched");
    await after.body?.cancel();
    assert.equal(
      (await status(r)).pool.find((m) => m.id === A)!.cooldown_until,
      null,
    );
  });
}

for (
  const [name, step] of [
    ["400 '<id> is not a valid model ID'", () => invalidModel400(A)],
    ["400 model_not_found", () => availabilityError(400, A, "model_not_found")],
    [
      "404 model_deprecated",
      () => availabilityError(404, A, "model_deprecated"),
    ],
  ] as const
) {
  Deno.test(`a model OpenRouter no longer serves (${name}) is skipped for auto until the catalog refresh, not returned to the client`, async () => {
    await using r = quotaRig({ modelRefreshTtl: 600 });
    r.fake.script(A, step());
    const first = await r.chat(hello());
    assert.equal(first.status, 200);
    assert.equal(first.headers.get("x-freerouter-model"), B);
    await first.body?.cancel();
    r.clock.advance(300_000);
    const second = await r.chat(hello());
    assert.equal(second.headers.get("x-freerouter-model"), B);
    await second.body?.cancel();
    assert.deepEqual(models(r), [A, B, B]);
  });
}

for (const strategy of ["quality", "adaptive"] as const) {
  Deno.test(`a moderation 403 or an output-modalities 404 does not count against the model: three in a row leave it first for the next request (${strategy}, which ranks by health)`, async () => {
    await using r = quotaRig({ maxAttempts: 1, strategy });
    for (
      const step of [moderation403(A), outputModalities404(), moderation403(A)]
    ) {
      r.fake.script(A, step);
      const res = await r.chat(hello());
      assert.equal(res.status, 502);
      await res.body?.cancel();
    }
    const clean = await r.chat(hello());
    assert.equal(clean.headers.get("x-freerouter-model"), A);
    await clean.body?.cancel();
    assert.deepEqual(models(r), [A, A, A, A]);
    const a = (await status(r)).pool.find((m) => m.id === A)!;
    assert.equal(a.last_error ?? null, null, JSON.stringify(a));
  });
}

Deno.test("a 404 refusing a forced tool_choice marks only forced tool choices: plain tool calls still go to the model", async () => {
  await using r = quotaRig({ modelRefreshTtl: 3600 });
  const forced = {
    ...weather,
    tool_choice: { type: "function", function: { name: "weather" } },
  };
  r.fake.script(A, toolChoice404());
  const first = await r.chat(hello("auto", forced));
  assert.equal(first.headers.get("x-freerouter-model"), B);
  await first.body?.cancel();
  const plain = await r.chat(hello("auto", weather));
  assert.equal(plain.headers.get("x-freerouter-model"), A);
  await plain.body?.cancel();
  const required = await r.chat(
    hello("auto", { ...weather, tool_choice: "required" }),
  );
  assert.equal(required.headers.get("x-freerouter-model"), B);
  await required.body?.cancel();
  assert.deepEqual(models(r), [A, B, A, B]);
  assert.deepEqual(
    (await status(r)).pool.find((m) => m.id === A)!.lacks,
    ["tool_choice"],
  );
});

Deno.test("a 503 temporarily_unavailable with retry_after cools the model until then", async () => {
  await using r = quotaRig({ cooldownSeconds: 60 });
  r.fake.script(
    A,
    availabilityError(503, A, "temporarily_unavailable", { retryAfterS: 120 }),
  );
  await (await r.chat(hello())).body?.cancel();
  r.clock.advance(90_000); // past COOLDOWN_SECONDS, before the hint
  const during = await r.chat(hello());
  assert.equal(during.headers.get("x-freerouter-model"), B);
  await during.body?.cancel();
  r.clock.advance(31_000);
  const after = await r.chat(hello());
  assert.equal(after.headers.get("x-freerouter-model"), A);
  await after.body?.cancel();
  assert.deepEqual(models(r), [A, B, B, A]);
});
