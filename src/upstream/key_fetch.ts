/**
 * One `GET {baseUrl}/key`: the key's tier, credit and the account's
 * free-model quota of the day. It costs no quota.
 *
 * @module
 */
import { settledByAbort } from "./scope.ts";
import { redactedError } from "../core/secrets.ts";
import { type KeyReport, parseKeyReport } from "../core/key_report.ts";

/** Where and how to read `/key`. */
export interface KeyFetchOptions {
  baseUrl: string;
  fetch: typeof fetch;
  /** The read is aborted after this long. */
  requestTimeoutMs: number;
}

/**
 * Reads `/key` with `apiKey`. Rejects when OpenRouter answers an error, a
 * body that is not a key report, or nothing in time.
 */
export async function fetchKeyReport(
  options: KeyFetchOptions,
  apiKey: string,
  signal?: AbortSignal,
): Promise<KeyReport> {
  const { baseUrl, fetch, requestTimeoutMs } = options;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), requestTimeoutMs);
  const abort = () => controller.abort();
  signal?.addEventListener("abort", abort, { once: true });
  try {
    const res = await fetch(`${baseUrl}/key`, {
      headers: {
        accept: "application/json",
        authorization: `Bearer ${apiKey}`,
      },
      signal: controller.signal,
    }).catch((err) => {
      // The runtime's message can quote the headers: never the key.
      throw redactedError(err, apiKey);
    });
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`GET /key answered ${res.status}`);
    }
    // The timeout ends the body read too, even when the runtime would not.
    const json = await settledByAbort(res.json(), controller.signal).catch(
      (err) => {
        if (controller.signal.aborted) throw err;
        return undefined;
      },
    );
    const report = parseKeyReport(json);
    if (report === undefined) {
      throw new Error("GET /key answered without a key report");
    }
    return report;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", abort);
  }
}
