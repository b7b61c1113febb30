/** The fake's dynamic steps: an answer decided from the request's body. */
import assert from "node:assert/strict";
import { chat, CODER } from "./_test_client.ts";
import { errorStatus, ok, startFakeOpenRouter } from "./mod.ts";

Deno.test("startFakeOpenRouter() answers a DynamicStep with the step its respond() returns for the request's body", async () => {
  await using fake = startFakeOpenRouter();
  const bodies: unknown[] = [];
  const step = {
    respond(body: unknown) {
      bodies.push(body);
      const text = JSON.stringify(body);
      return text.includes("MARKER")
        ? ok(CODER, "saw the marker")
        : errorStatus(503, "no marker");
    },
  };
  fake.script(CODER, step, step);
  const ask = (content: string) => ({
    model: CODER,
    messages: [{ role: "user", content }],
  });
  const first = await chat(fake, ask("with MARKER"));
  assert.equal(first.status, 200);
  const body = await first.json();
  assert.equal(body.choices[0].message.content, "saw the marker");
  const second = await chat(fake, ask("without"));
  assert.equal(second.status, 503);
  await second.body?.cancel();
  assert.deepEqual(bodies, [ask("with MARKER"), ask("without")]);
  assert.equal(fake.pendingSteps(CODER), 0, "each dynamic step is used once");
});
