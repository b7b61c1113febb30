// Serves a web-standard handler, `(req: Request) => Promise<Response>`, on
// node:http: the small adapter a Node user writes to mount createHandler().
import http from "node:http";
import { Readable } from "node:stream";

/** IncomingMessage → Request. The signal aborts when the client goes away. */
function toRequest(req, signal) {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v !== undefined) headers.append(name, v);
    }
  }
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  return new Request(`http://${req.headers.host ?? "localhost"}${req.url}`, {
    method: req.method,
    headers,
    body: hasBody ? Readable.toWeb(req) : undefined,
    duplex: "half",
    signal,
  });
}

/** Response → ServerResponse, body streamed chunk by chunk as it arrives. */
async function send(response, res, method) {
  for (const [name, value] of response.headers) res.appendHeader(name, value);
  res.writeHead(response.status);
  res.flushHeaders();
  if (!response.body || method === "HEAD") {
    await response.body?.cancel();
    return res.end();
  }
  const reader = response.body.getReader();
  res.on("close", () => reader.cancel().catch(() => {}));
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) {
        await new Promise((resolve) => {
          res.once("drain", resolve);
          res.once("close", resolve);
        });
      }
    }
    res.end();
  } catch {
    res.destroy();
  }
}

/** Starts a node:http server on 127.0.0.1, port 0, in front of `handler`. */
export async function serveOnNode(handler) {
  const server = http.createServer(async (req, res) => {
    const controller = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) controller.abort();
    });
    let response;
    try {
      response = await handler(toRequest(req, controller.signal));
    } catch (err) {
      res.writeHead(500, { "content-type": "text/plain" });
      return res.end(`handler threw: ${err}`);
    }
    await send(response, res, req.method);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
