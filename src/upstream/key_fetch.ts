/**
 * One `GET {baseUrl}/key`: the key's tier, credit and the account's
 * free-model quota of the day. It costs no quota.
 *
 * @module
 */
import { type GetOptions, getText } from "./get_text.ts";
import { parseJson } from "./request.ts";
import { type KeyReport, parseKeyReport } from "../core/key_report.ts";

/** Where and how to read `/key`. */
export type KeyFetchOptions = GetOptions;

/**
 * Reads `/key` with `apiKey`. Rejects when OpenRouter answers an error, a
 * body that is not a key report, or nothing in time.
 */
export async function fetchKeyReport(
  options: KeyFetchOptions,
  apiKey: string,
  signal?: AbortSignal,
): Promise<KeyReport> {
  const report = parseKeyReport(
    parseJson(await getText(options, "/key", apiKey, signal)),
  );
  if (report === undefined) {
    throw new Error("GET /key answered without a key report");
  }
  return report;
}
