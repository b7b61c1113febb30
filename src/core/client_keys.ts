/**
 * Client access keys: named keys that share one freerouter (and so one
 * OpenRouter account), each with optional limits (requests per UTC day and
 * per minute) and an optional list of the models it may ask for. The file
 * format (`FREEROUTER_CLIENT_KEYS`), its validation, and the model check.
 * Pure.
 *
 * ```json
 * {"clients": [{"name": "alice", "key": "fr-…", "requests_per_day": 200,
 *   "requests_per_minute": 5, "models": ["auto", "auto:coding", "qwen/*"]}]}
 * ```
 *
 * @module
 */
import { z } from "zod";
import { isAutoName, PLAIN_AUTO_NAMES } from "./aliases.ts";
import { isWellFormedKey } from "./secrets.ts";

/**
 * One client of the proxy: its name (shown in the status and the metrics,
 * never the key), its key, and what it may spend.
 *
 * @example A client limited to 200 requests a day, coding aliases and Qwen models
 * ```ts
 * import type { ClientKey } from "@freerouter/freerouter";
 * const alice: ClientKey = {
 *   name: "alice",
 *   key: "fr-alice-7f3a9c1e",
 *   requestsPerDay: 200,
 *   requestsPerMinute: 5,
 *   models: ["auto", "auto:coding", "qwen/*"],
 * };
 * ```
 */
export interface ClientKey {
  /** Letters, digits and `._@-`; unique. */
  name: string;
  /** The secret the client sends (`Authorization: Bearer …` or `x-api-key`); 8 printable ASCII characters or more, unique. */
  key: string;
  /** Requests per UTC day; absent: no limit. */
  requestsPerDay?: number | undefined;
  /** Requests per minute; absent: no limit. */
  requestsPerMinute?: number | undefined;
  /**
   * Models (and aliases such as `auto:coding`) the client may ask for, `*`
   * standing for any characters within an id; absent: any.
   */
  models?: readonly string[] | undefined;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
/**
 * What a key freerouter's clients send must be (a client key, and
 * `FREEROUTER_API_KEY`): a header carries it, so printable ASCII
 * ({@link isWellFormedKey}); a key no HTTP client can send would never match.
 */
export const KEY_RULE =
  "must be at least 8 printable ASCII characters, without spaces or quotes";

/** Whether `key` follows {@link KEY_RULE}. */
export function isAccessKey(key: string): boolean {
  return key.length >= 8 && isWellFormedKey(key);
}

const limit = z.number({ error: "must be a number" }).int(
  "must be a whole number",
).min(1, "must be at least 1 (leave it out for no limit)");

const entrySchema = z.strictObject({
  name: z.string({ error: "is required (a string)" }).regex(NAME, {
    error:
      "must be 1–64 letters, digits or ._@- (starting with a letter or digit)",
  }),
  key: z.string({ error: "is required (a string)" }).refine(isAccessKey, {
    error: KEY_RULE,
  }),
  requests_per_day: limit.optional(),
  requests_per_minute: limit.optional(),
  models: z.array(
    z.string().regex(/^[^\s,]+$/, {
      error: "must be model ids, aliases or patterns without spaces",
    }),
    { error: "must be a list of model ids, aliases or patterns" },
  ).min(1, "must name at least one model (leave it out for any)").optional(),
}, {
  error: (issue) =>
    issue.code === "unrecognized_keys"
      ? `has an unknown field ${JSON.stringify(issue.keys[0])}`
      : "must be an object with name and key",
});

const fileSchema = z.object({
  clients: z.array(z.unknown(), {
    error: 'must be an object with a "clients" list',
  }),
}, { error: 'must be an object with a "clients" list' });

/** The outcome of reading a client keys file. */
export type ClientKeysResult =
  | { ok: true; clients: ClientKey[] }
  | {
    ok: false;
    /** Which entry, e.g. `clients[2] ("alice")`, or `the file`. */
    entry: string;
    problem: string;
  };

/** Validates a parsed client keys file (`{"clients": [...]}`). */
export function parseClientKeys(value: unknown): ClientKeysResult {
  const file = fileSchema.safeParse(value);
  if (!file.success) {
    return {
      ok: false,
      entry: "the file",
      problem: file.error.issues[0]!.message,
    };
  }
  const clients: ClientKey[] = [];
  for (const [i, raw] of file.data.clients.entries()) {
    const named = typeof (raw as { name?: unknown })?.name === "string"
      ? ` (${JSON.stringify((raw as { name: string }).name)})`
      : "";
    const entry = `clients[${i}]${named}`;
    const parsed = entrySchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.length > 0 ? `${issue.path.join(".")} ` : "";
      const problem = typeof raw !== "object" || raw === null
        ? "must be an object with name and key"
        : `${field}${issue.message}`;
      return { ok: false, entry, problem };
    }
    const c = parsed.data;
    clients.push({
      name: c.name,
      key: c.key,
      ...(c.requests_per_day === undefined
        ? {}
        : { requestsPerDay: c.requests_per_day }),
      ...(c.requests_per_minute === undefined
        ? {}
        : { requestsPerMinute: c.requests_per_minute }),
      ...(c.models === undefined ? {} : { models: c.models }),
    });
  }
  const problem = clientKeysProblem(clients);
  if (problem) return { ok: false, ...problem };
  return { ok: true, clients };
}

/** The fields of a {@link ClientKey}. */
const FIELDS: ReadonlySet<string> = new Set<keyof ClientKey>([
  "name",
  "key",
  "requestsPerDay",
  "requestsPerMinute",
  "models",
]);

/**
 * What is wrong with a list of clients as a whole or one of its entries
 * (the library's `clientKeys` option is checked with it too), or `undefined`.
 */
export function clientKeysProblem(
  clients: readonly ClientKey[],
): { entry: string; problem: string } | undefined {
  const names = new Set<string>();
  const keys = new Set<string>();
  for (const [i, c] of clients.entries()) {
    const entry = `clients[${i}] (${JSON.stringify(c.name)})`;
    if (typeof c.name !== "string" || !NAME.test(c.name)) {
      return {
        entry,
        problem:
          "name must be 1–64 letters, digits or ._@- (starting with a letter or digit)",
      };
    }
    if (typeof c.key !== "string" || !isAccessKey(c.key)) {
      return { entry, problem: `key ${KEY_RULE}` };
    }
    const unknown = Object.keys(c).find((field) => !FIELDS.has(field));
    if (unknown !== undefined) {
      // A JavaScript caller may pass the keys file's entries as they are: a
      // limit under its file name would otherwise be no limit at all.
      const camel = unknown.replace(
        /_([a-z])/g,
        (_, l: string) => l.toUpperCase(),
      );
      return {
        entry,
        problem: `has an unknown field ${JSON.stringify(unknown)}${
          FIELDS.has(camel) ? ` (the option spells it ${camel})` : ""
        }`,
      };
    }
    for (const field of ["requestsPerDay", "requestsPerMinute"] as const) {
      const v = c[field];
      if (v !== undefined && !(Number.isInteger(v) && v >= 1)) {
        return { entry, problem: `${field} must be a whole number ≥ 1` };
      }
    }
    if (
      c.models !== undefined &&
      (!Array.isArray(c.models) || c.models.length === 0 ||
        c.models.some((m) => typeof m !== "string" || m === ""))
    ) {
      return { entry, problem: "models must be a non-empty list of names" };
    }
    if (names.has(c.name)) {
      return { entry, problem: "repeats the name of an earlier client" };
    }
    if (keys.has(c.key)) {
      return { entry, problem: "repeats the key of an earlier client" };
    }
    names.add(c.name);
    keys.add(c.key);
  }
  return undefined;
}

/**
 * Whether a client may ask for `model` (a model id or an alias such as
 * `auto:coding`; absent means `auto`). Names match exactly; `*` in an entry
 * stands for any characters.
 */
export function mayUseModel(
  client: ClientKey,
  model: string | undefined,
): boolean {
  if (client.models === undefined) return true;
  const name = model === undefined || model === "" ? "auto" : model;
  return matchesAny(name, client.models);
}

/**
 * The models a client's request may be answered by, as the client's list of
 * ids and patterns; `undefined` for any. An alias the client may use
 * (`auto`, `auto:*`, `openrouter/auto`, one of the operator's: `isAlias`)
 * grants the alias's models. Any other name is answered only by models on
 * the list, fallbacks too: a model id, and a plain name that routes as
 * `auto` (Claude Code's `claude-…`), unless `auto` itself is on the list
 * (`grantsAuto`, see {@link mayUseAuto}).
 */
export function modelsFor(
  client: ClientKey,
  model: string | undefined,
  isAlias: (name: string) => boolean,
  grantsAuto: boolean = mayUseAuto(client),
): readonly string[] | undefined {
  if (client.models === undefined || model === undefined || model === "") {
    return undefined;
  }
  if (isAutoName(model) || isAlias(model)) return undefined;
  return !model.includes("/") && grantsAuto ? undefined : client.models;
}

/** Whether a client may send plain `auto` (or `openrouter/auto`). */
export function mayUseAuto(client: ClientKey): boolean {
  return PLAIN_AUTO_NAMES.some((name) => mayUseModel(client, name));
}

/** Whether `name` matches one of `patterns` (ids, or `*` for any characters). */
export function matchesAny(name: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => matches(name, pattern));
}

/** Whether a name matches an entry: itself, or a pattern where `*` stands for any characters. */
function matches(name: string, pattern: string): boolean {
  if (!pattern.includes("*")) return name === pattern;
  const parts = pattern.split("*");
  const first = parts[0]!;
  const last = parts.at(-1)!;
  if (
    name.length < first.length + last.length || !name.startsWith(first) ||
    !name.endsWith(last)
  ) return false;
  let at = first.length;
  const end = name.length - last.length;
  for (const part of parts.slice(1, -1)) {
    const found = name.indexOf(part, at);
    if (found === -1 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}
