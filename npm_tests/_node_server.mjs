// Serves a web-standard handler, `(req: Request) => Promise<Response>`, on
// Node with @hono/node-server: the adapter the README recommends for mounting
// createHandler() on Node (it aborts `req.signal` when the client goes away).
import { serve } from "@hono/node-server";

/** Starts a server on 127.0.0.1, port 0, in front of `handler`. */
export async function serveOnNode(handler) {
  const { server, port } = await new Promise((resolve) => {
    const server = serve(
      { fetch: handler, hostname: "127.0.0.1", port: 0 },
      (info) => resolve({ server, port: info.port }),
    );
  });
  return {
    url: `http://127.0.0.1:${port}`,
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
