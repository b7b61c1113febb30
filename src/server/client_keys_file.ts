/**
 * Reads the client keys file named by `FREEROUTER_CLIENT_KEYS` at startup. A
 * file that cannot be read, is not JSON, has a bad entry or an entry with the
 * key of FREEROUTER_API_KEY stops startup with one line naming the file and
 * the entry (never a key).
 *
 * @module
 */
import { type ClientKey, parseClientKeys } from "../core/client_keys.ts";
import { ConfigError } from "./config.ts";

/**
 * The clients of the file at `path`; throws {@link ConfigError}, also when a
 * client's key is `accessKey` (FREEROUTER_API_KEY): one key must name one
 * caller.
 */
export async function loadClientKeys(
  path: string,
  accessKey?: string,
): Promise<ClientKey[]> {
  const where = `FREEROUTER_CLIENT_KEYS file ${path}`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound
      ? "does not exist"
      : `cannot be read (${err instanceof Error ? err.name : err})`;
    throw new ConfigError(`Invalid configuration: ${where} ${why}`);
  }
  let value: unknown;
  try {
    // A byte order mark (some Windows editors write one) is not JSON.
    value = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (err) {
    // V8's message may quote the text (a key): only the place is shown.
    const at = /\(line \d+ column \d+\)/.exec(String(err))?.[0];
    throw new ConfigError(
      `Invalid configuration: ${where} is not valid JSON${at ? ` ${at}` : ""}`,
    );
  }
  const parsed = parseClientKeys(value);
  if (!parsed.ok) {
    throw new ConfigError(
      `Invalid configuration: ${where}: ${parsed.entry} ${parsed.problem}`,
    );
  }
  if (parsed.clients.length === 0) {
    throw new ConfigError(
      `Invalid configuration: ${where}: "clients" lists no client`,
    );
  }
  const clash = accessKey === undefined
    ? -1
    : parsed.clients.findIndex((c) => c.key === accessKey);
  if (clash >= 0) {
    const name = JSON.stringify(parsed.clients[clash]!.name);
    throw new ConfigError(
      `Invalid configuration: ${where}: clients[${clash}] (${name}) has the same key as FREEROUTER_API_KEY (give each its own key)`,
    );
  }
  return parsed.clients;
}
