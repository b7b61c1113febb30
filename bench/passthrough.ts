/**
 * The reference: a minimal pass-through proxy in a few lines of Deno
 * (`Deno.serve` + `fetch`, the response body streamed through). It is the
 * best any Deno proxy can do, so freerouter is measured against it.
 *
 * ```sh
 * UPSTREAM=http://127.0.0.1:9000/api/v1 deno run --allow-net --allow-env bench/passthrough.ts
 * ```
 *
 * Prints `{"port": n}` on stdout once listening.
 *
 * @module
 */
const upstream = Deno.env.get("UPSTREAM") ?? "http://127.0.0.1:9000/api/v1";

Deno.serve({
  hostname: "127.0.0.1",
  port: Number(Deno.env.get("PORT") ?? 0),
  onListen: ({ port }) => console.log(JSON.stringify({ port })),
}, async (req) => {
  const path = new URL(req.url).pathname.replace(/^\/v1/, "");
  const res = await fetch(upstream + path, {
    method: req.method,
    headers: {
      "content-type": "application/json",
      authorization: req.headers.get("authorization") ?? "",
    },
    body: req.method === "POST" ? await req.arrayBuffer() : undefined,
    signal: req.signal,
  });
  return new Response(res.body, { status: res.status, headers: res.headers });
});
