/**
 * A free variant's end: a catalog row whose `expiration_date` has begun is
 * neither listed nor tried (OpenRouter answers its slug 404
 * `free_variant_ended`, and the failed attempt counts against the day).
 */
import assert from "node:assert/strict";
import { hello, rig } from "./_harness.ts";
import { catalogRow, defaultCatalog } from "./fake_openrouter/mod.ts";

const ENDED = "nex-agi/nex-n2-mini:free";
const LATER = "nex-agi/nex-n3-mini:free";

Deno.test("createHandler() neither lists nor tries a model whose expiration date has begun; one that ends later stays", async () => {
  await using r = rig({
    fakeOptions: {
      models: [
        // Ranked first by context, so that `auto` would try it first.
        catalogRow({
          id: ENDED,
          context_length: 4_000_000,
          expiration_date: "2026-09-25",
        }),
        catalogRow({
          id: LATER,
          context_length: 3_000_000,
          expiration_date: "2026-12-31",
        }),
        ...defaultCatalog(),
      ],
    },
  });
  // The rig's clock reads 2026-11-24.
  const list = await (await r.request("/v1/models")).json() as {
    data: Array<{ id: string }>;
  };
  const ids = list.data.map((m) => m.id);
  assert.ok(!ids.includes(ENDED), ids.join(", "));
  assert.equal(ids[0], LATER);
  for (const model of [ENDED, "auto"]) {
    const res = await r.chat(hello(model));
    assert.equal(res.status, 200, await res.text());
    assert.equal(res.headers.get("x-freerouter-model"), LATER);
  }
  assert.ok(
    r.fake.chatRequests().every((req) =>
      (req.body as { model?: string }).model !== ENDED
    ),
  );
});

Deno.test("createHandler() drops a cached model the moment its expiration date begins, without a catalog refresh", async () => {
  const ENDS = "nex-agi/nex-n1-mini:free"; // its last free day is the rig's
  await using r = rig({
    modelRefreshTtl: 86_400, // the catalog stays fresh throughout
    fakeOptions: {
      models: [
        catalogRow({
          id: ENDS,
          context_length: 4_000_000,
          expiration_date: "2026-11-25",
        }),
        ...defaultCatalog(),
      ],
    },
  });
  const listed = async () =>
    ((await (await r.request("/v1/models")).json()) as {
      data: Array<{ id: string }>;
    }).data.map((m) => m.id);
  const modelOfAuto = async () =>
    (await r.chat(hello("auto"))).headers.get("x-freerouter-model");
  // The rig's clock reads 2026-11-24T12:00Z: the model is still free.
  assert.equal((await listed())[0], ENDS);
  assert.equal(await modelOfAuto(), ENDS);
  r.clock.advance(12 * 3600_000 - 1);
  assert.equal(await modelOfAuto(), ENDS);
  r.clock.advance(1); // 2026-11-25T00:00Z
  assert.ok(!(await listed()).includes(ENDS));
  const next = await modelOfAuto();
  assert.ok(next !== null && next !== ENDS, String(next));
  const status = await (await r.request("/v1/freerouter/status")).json() as {
    pool: Array<{ id: string }>;
  };
  assert.ok(status.pool.length > 0);
  assert.ok(!status.pool.some((m) => m.id === ENDS));
  assert.equal(r.fake.modelsRequests().length, 1);
});
