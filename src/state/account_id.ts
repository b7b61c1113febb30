/**
 * Which OpenRouter account a request spends: free-tier limits are per account,
 * so with bring-your-own-key each key's blocks and counts are kept apart. An
 * account is named by a SHA-256 fingerprint of its key; the key itself is never
 * stored or shown.
 *
 * @module
 */

const encoder = new TextEncoder();
const ids = new Map<string, string>();
/** Fingerprints remembered at most (a bring-your-own-key proxy sees many keys). */
const MAX_REMEMBERED = 1000;

/**
 * The fingerprint of a key seen before, without waiting: `undefined` when
 * {@link accountIdOf} has not computed it yet (or has forgotten it).
 */
export function knownAccountId(apiKey: string): string | undefined {
  return ids.get(apiKey);
}

/** The account fingerprint of an OpenRouter key: 16 hex digits of its SHA-256. */
export async function accountIdOf(apiKey: string): Promise<string> {
  const known = knownAccountId(apiKey);
  if (known !== undefined) return known;
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", encoder.encode(apiKey)),
  );
  const id = Array.from(
    digest.subarray(0, 8),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  if (ids.size >= MAX_REMEMBERED) ids.clear();
  ids.set(apiKey, id);
  return id;
}
