/**
 * One `GET` against OpenRouter that costs no quota (`/models`, `/key`):
 * bounded in time, body read included, and never quoting the key.
 *
 * @module
 */
import { settledByAbort } from "./scope.ts";
import { redactedError, redactSecret } from "../core/secrets.ts";

/** Where and how to send the request. */
export interface GetOptions {
  baseUrl: string;
  fetch: typeof fetch;
  /** The request, body read included, is aborted after this long. */
  requestTimeoutMs: number;
}

/**
 * The error of a request that failed before any answer, for messages: the
 * runtime's, with the reason it keeps in `cause` (`fetch failed: client error
 * (Connect): tcp connect error: Connection refused`), same name, `apiKey`
 * redacted. The URL the runtime quotes there is left out: callers name it.
 */
export function failedRequestError(
  err: unknown,
  apiKey: string | undefined,
): Error {
  const out = redactedError(err, apiKey);
  const cause = err instanceof Error && err.cause instanceof Error
    ? err.cause.message.replace(/^error sending request for url \(.*?\): /, "")
    : "";
  if (cause !== "") out.message += `: ${redactSecret(cause, apiKey)}`;
  return out;
}

/**
 * `GET {baseUrl}{path}` with `apiKey` as the bearer token when given: the
 * body's text. Rejects when OpenRouter answers a non-2xx (`GET {path}
 * answered {status}`), when the request fails ({@link failedRequestError}:
 * the runtime's error and its reason, the key redacted), or when nothing
 * came in time; with `signal`'s reason itself when `signal` aborted it.
 */
export async function getText(
  options: GetOptions,
  path: string,
  apiKey: string | undefined,
  signal?: AbortSignal,
): Promise<string> {
  const { baseUrl, fetch, requestTimeoutMs } = options;
  const controller = new AbortController();
  const timer = setTimeout(
    () =>
      controller.abort(
        new DOMException(
          `GET ${path}: no answer within ${requestTimeoutMs / 1000} s`,
          "TimeoutError",
        ),
      ),
    requestTimeoutMs,
  );
  const abort = () => controller.abort(signal?.reason);
  // A signal that has already aborted fires no event: the request never goes.
  if (signal?.aborted) abort();
  else signal?.addEventListener("abort", abort, { once: true });
  try {
    const headers: Record<string, string> = { accept: "application/json" };
    if (apiKey) headers.authorization = `Bearer ${apiKey}`;
    const res = await fetch(`${baseUrl}${path}`, {
      headers,
      signal: controller.signal,
    }).catch((err) => {
      // The caller's abort rejects with the caller's reason, as fetch's does.
      if (signal?.aborted && err === signal.reason) throw err;
      // The runtime's message can quote the headers: never the key.
      throw failedRequestError(err, apiKey);
    });
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`GET ${path} answered ${res.status}`);
    }
    // The timeout ends the body read too, even when the runtime would not.
    return await settledByAbort(res.text(), controller.signal);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", abort);
  }
}
