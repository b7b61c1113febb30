/**
 * The fake OpenRouter's catalog: `GET /models` and its filters, and the pool
 * order written out in FREE_CHAT_IDS_IN_PRIORITY_ORDER.
 */
import assert from "node:assert/strict";
import {
  catalogRow,
  defaultCatalog,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER,
  startFakeOpenRouter,
} from "./mod.ts";
import { arr, CODER, isRecord, json, NO_TOOLS, rec } from "./_test_client.ts";

Deno.test("startFakeOpenRouter() serves text-output rows by default and every row with output_modalities=all", async () => {
  await using fake = startFakeOpenRouter();

  const def = await json(await fetch(`${fake.baseUrl}/models`));
  const data = arr(def.data);
  assert.equal(def.total_count, data.length);
  assert.deepEqual(def.links, { next: null });
  const ids = data.filter(isRecord).map((r) => r.id);
  for (const id of [CODER, "openrouter/free", "google/lyria-3-clip-preview"]) {
    assert.ok(ids.includes(id), id);
  }
  for (
    const hidden of [
      "google/lyria-3-pro-preview",
      "sourceful/riverflow-v2.5-pro:free",
      "respan/span-01-lite:free",
      "recraft/recraft-v4",
    ]
  ) {
    assert.ok(!ids.includes(hidden), hidden);
  }
  // Malformed rows are served too; clients must skip them.
  assert.ok(data.includes("broken/not-an-object:free"));
  assert.ok(ids.includes("broken/null-pricing:free"));

  const all = await json(
    await fetch(`${fake.baseUrl}/models?output_modalities=all`),
  );
  assert.equal(arr(all.data).length, fake.models.length);
  assert.equal(all.total_count, fake.models.length);

  const images = await json(
    await fetch(`${fake.baseUrl}/models?output_modalities=image`),
  );
  assert.deepEqual(
    arr(images.data).filter(isRecord).map((r) => r.id).sort(),
    ["recraft/recraft-v4", "sourceful/riverflow-v2.5-pro:free"],
  );

  const tools = await json(
    await fetch(`${fake.baseUrl}/models?supported_parameters=tools`),
  );
  assert.ok(arr(tools.data).length > 5);
  for (const r of arr(tools.data)) {
    assert.ok(arr(rec(r).supported_parameters).includes("tools"));
  }
  assert.ok(!arr(tools.data).some((r) => rec(r).id === NO_TOOLS));

  // Prices are decimal strings in every well-formed row.
  const coder = rec(data.find((r) => isRecord(r) && r.id === CODER));
  assert.deepEqual(coder.pricing, { prompt: "0", completion: "0" });
  assert.equal(coder.context_length, 1048576);

  fake.models = [catalogRow({ id: "acme/only:free" })];
  const replaced = await json(await fetch(`${fake.baseUrl}/models`));
  assert.deepEqual(arr(replaced.data).map((r) => rec(r).id), [
    "acme/only:free",
  ]);

  assert.deepEqual(fake.modelsRequests().map((r) => r.search), [
    "",
    "?output_modalities=all",
    "?output_modalities=image",
    "?supported_parameters=tools",
    "",
  ]);
});

Deno.test("FREE_CHAT_IDS_IN_PRIORITY_ORDER has unique catalog ids and follows the pool rules", () => {
  const ids = FREE_CHAT_IDS_IN_PRIORITY_ORDER;
  assert.equal(new Set(ids).size, ids.length, "no duplicates");
  const catalog = defaultCatalog();
  const byId = new Map(
    catalog.filter(isRecord).map((r) => [r.id, r] as const),
  );
  for (const id of ids) assert.ok(byId.has(id), `${id} is in the catalog`);

  // An independent implementation of the pool rules must agree with the literal.
  const price = (v: unknown) =>
    typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
  const pool = catalog.flatMap((row) => {
    if (!isRecord(row) || typeof row.id !== "string") return [];
    if (typeof row.context_length !== "number") return [];
    if (!isRecord(row.pricing) || !isRecord(row.architecture)) return [];
    const prices = Object.entries(row.pricing).filter(([k]) =>
      k !== "discount"
    );
    const nums = prices.map(([, v]) => price(v));
    if (nums.some((n) => Number.isNaN(n) || n < 0)) return [];
    if (
      price(row.pricing.prompt) !== 0 || price(row.pricing.completion) !== 0
    ) {
      return [];
    }
    if (nums.some((n) => n > 0)) return [];
    const a = row.architecture;
    const inputs = Array.isArray(a.input_modalities) ? a.input_modalities : [];
    if (!inputs.includes("text")) return [];
    const textOut = Array.isArray(a.output_modalities)
      ? a.output_modalities.length === 1 && a.output_modalities[0] === "text"
      : typeof a.modality === "string" && a.modality.endsWith("->text");
    if (!textOut) return [];
    return [{
      id: row.id,
      free: row.id.endsWith(":free"),
      ctx: row.context_length,
    }];
  });
  pool.sort((x, y) =>
    Number(y.free) - Number(x.free) || y.ctx - x.ctx ||
    (x.id < y.id ? -1 : x.id > y.id ? 1 : 0)
  );
  assert.deepEqual(ids, pool.map((p) => p.id));

  // Fresh copies per call.
  const again = defaultCatalog();
  assert.notEqual(again[0], catalog[0]);
  assert.deepEqual(again.length, catalog.length);
  assert.ok(catalog.length >= 30);
  const row = catalogRow({ id: "acme/x:free", context_length: 1000 });
  assert.equal(row.canonical_slug, "acme/x");
  assert.equal(row.top_provider.context_length, 1000);
  assert.deepEqual(row.pricing, { prompt: "0", completion: "0" });
  assert.equal(row.links.details, "/api/v1/models/acme/x/endpoints");
});
