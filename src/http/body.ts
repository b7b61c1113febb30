/**
 * Reading a request body as JSON: a size cap enforced without reading past
 * it, JSON accepted whatever the declared type, non-JSON rejected clearly.
 *
 * @module
 */
import { errorResponse } from "../errors.ts";
import { concatBytes } from "../upstream/sse.ts";

const decoder = new TextDecoder();

function tooLarge(maxBytes: number): Response {
  return errorResponse({
    status: 413,
    message:
      `The request body is larger than ${maxBytes} bytes (FREEROUTER_MAX_BODY_BYTES)`,
    code: "body_too_large",
  });
}

/**
 * The answer to a body that could not be read to its end: the client closed
 * the connection while sending it, or freerouter is stopping (Deno's server
 * then ends the reads of bodies under way; the runtime tells the two apart in
 * no way). Not an internal error: a retryable 503, which a client that
 * finishes sending after the stop reads.
 */
function unreadable(): Response {
  return errorResponse({
    status: 503,
    message:
      "The request body could not be read to its end (the connection closed, or freerouter is stopping); send it again",
    code: "body_unreadable",
    headers: { "retry-after": "1" },
  });
}

/** Reads at most `maxBytes`; `undefined` when the body is larger (the rest is not read). */
async function readCapped(
  req: Request,
  maxBytes: number,
): Promise<Uint8Array | undefined> {
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        return undefined;
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return concatBytes(chunks);
}

/**
 * The parsed JSON body, or the error response to send: 413 when it is larger
 * than `maxBytes` (judged from `Content-Length` when given, else while
 * reading), 400 for invalid JSON, 415 for a body that is neither JSON nor
 * declared as JSON, 503 for one that could not be read to its end.
 */
export async function readJsonBody(
  req: Request,
  maxBytes: number,
): Promise<{ ok: true; value: unknown } | { ok: false; response: Response }> {
  const length = req.headers.get("content-length");
  const declared = length === null ? NaN : Number(length);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await req.body?.cancel().catch(() => {});
    return { ok: false, response: tooLarge(maxBytes) };
  }
  // With a declared length (checked above), one read on the Rust side;
  // otherwise read chunk by chunk up to the cap.
  let bytes: Uint8Array | undefined;
  try {
    bytes = Number.isFinite(declared)
      ? new Uint8Array(await req.arrayBuffer())
      : await readCapped(req, maxBytes);
  } catch {
    return { ok: false, response: unreadable() };
  }
  if (bytes === undefined) return { ok: false, response: tooLarge(maxBytes) };
  const text = decoder.decode(bytes);
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    const type =
      req.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase() ??
        "";
    if (type !== "" && !type.includes("json") && type !== "text/plain") {
      return {
        ok: false,
        response: errorResponse({
          status: 415,
          message: `The request body must be JSON (got Content-Type ${type})`,
          code: "unsupported_media_type",
        }),
      };
    }
    return {
      ok: false,
      response: errorResponse({
        status: 400,
        message: text.trim() === ""
          ? "The request body is empty"
          : "The request body is not valid JSON",
        code: "invalid_json",
      }),
    };
  }
}
