/**
 * One `GET` against OpenRouter that costs no quota (`/models`, `/key`):
 * bounded in time, body read included, and never quoting the key.
 *
 * @module
 */
import { settledByAbort } from "./scope.ts";
import { redactedError } from "../core/secrets.ts";

/** Where and how to send the request. */
export interface GetOptions {
  baseUrl: string;
  fetch: typeof fetch;
  /** The request, body read included, is aborted after this long. */
  requestTimeoutMs: number;
}

/**
 * `GET {baseUrl}{path}` with `apiKey` as the bearer token when given: the
 * body's text. Rejects when OpenRouter
 * answers a non-2xx (`GET {path} answered {status}`), when the request fails
 * (the runtime's error, the key redacted from its message), or when nothing
 * came in time or `signal` aborted.
 */
export async function getText(
  options: GetOptions,
  path: string,
  apiKey: string | undefined,
  signal?: AbortSignal,
): Promise<string> {
  const { baseUrl, fetch, requestTimeoutMs } = options;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), requestTimeoutMs);
  const abort = () => controller.abort();
  signal?.addEventListener("abort", abort, { once: true });
  try {
    const headers: Record<string, string> = { accept: "application/json" };
    if (apiKey) headers.authorization = `Bearer ${apiKey}`;
    const res = await fetch(`${baseUrl}${path}`, {
      headers,
      signal: controller.signal,
    }).catch((err) => {
      // The runtime's message can quote the headers: never the key.
      throw redactedError(err, apiKey);
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
