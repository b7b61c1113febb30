/** The request metrics' route label: bounded, and never the client's text. */
import assert from "node:assert/strict";
import { rig } from "./_harness.ts";

Deno.test("createHandler() counts unknown paths under one route label, without their text", async () => {
  await using r = rig();
  for (const path of ["/v1/nope", "/sk-or-v1-abcdef0123456789", "/a/b/c"]) {
    const res = await r.request(path);
    assert.equal(res.status, 404);
    await res.body?.cancel();
  }
  const text = await (await r.request("/metrics")).text();
  assert.match(
    text,
    /freerouter_requests_total\{route="not_found",outcome="client_error"\} 3/,
  );
  assert.ok(!text.includes("sk-or-v1"), "the path's text is not a label");
  assert.ok(!text.includes("nope"));
});
