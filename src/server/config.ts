/**
 * The proxy's configuration: environment variables (and `.env`), validated at
 * startup with zod. A bad value stops startup with one line naming the key.
 *
 * @module
 */
import { z } from "zod";
import { isLoopback } from "../http/host_guard.ts";
import { DEFAULT_BASE_URL } from "../options.ts";
import { parseAliases } from "../core/aliases.ts";
import { isWellFormedKey, withoutCredentials } from "../core/secrets.ts";
import { isAccessKey, KEY_RULE } from "../core/client_keys.ts";
import {
  type NumericSetting,
  settingProblem,
  SETTINGS,
} from "../core/settings.ts";

/** The proxy's configuration after validation. Times in seconds. */
export interface ServerConfig {
  openrouterApiKey: string | undefined;
  baseUrl: string;
  host: string;
  port: number;
  modelRefreshTtl: number;
  maxAttempts: number;
  cooldownSeconds: number;
  requestTimeout: number;
  streamIdleTimeout: number;
  keepAliveTimeout: number;
  kvPath: string;
  /** The KV Connect access token (`DENO_KV_ACCESS_TOKEN`), when set. */
  kvAccessToken: string | undefined;
  accessKey: string | undefined;
  rpm: number;
  maxWait: number;
  strategy: "quality" | "priority" | "adaptive";
  /** Resume a committed stream that breaks on the next model (FREEROUTER_STREAM_RESUME). */
  streamResume: boolean;
  /** Seconds a named model is worth waiting for (FREEROUTER_SAME_MODEL_WAIT). */
  sameModelWait: number;
  /** Conversation affinity (FREEROUTER_AFFINITY). */
  affinity: boolean;
  /** Operator-defined model aliases (FREEROUTER_ALIASES): name → model ids or patterns. */
  aliases: Record<string, string[]>;
  maxBodyBytes: number;
  /** The client keys file (FREEROUTER_CLIENT_KEYS), read and checked at startup. */
  clientKeysPath: string | undefined;
  /** Response cache TTL, seconds; 0 is off (FREEROUTER_CACHE_TTL). */
  cacheTtl: number;
  /** Response cache size cap, bytes (FREEROUTER_CACHE_MAX_BYTES). */
  cacheMaxBytes: number;
  corsOrigins: string[];
  allowOpen: boolean;
  logFormat: "pretty" | "json";
  logLevel: "debug" | "info" | "warn" | "error";
}

/** A configuration error; its message is one line naming the key. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const optionalSecret = z.string().trim().optional().transform((v) =>
  v || undefined
);
/**
 * A number written in plain decimal (`8`, `0.5`). `z.coerce.number()` alone
 * would also take `0x10`, `1e2` or `Infinity`, which nobody means in a
 * setting; `error` names what the key wants.
 */
const decimal = (error: string) =>
  z.string().trim().regex(/^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/, { error })
    .transform(Number);

/** A numeric setting from the environment, with the table's default and bounds. */
const setting = (s: NumericSetting) =>
  decimal(s.kind).check((ctx) => {
    const problem = settingProblem(s, ctx.value);
    if (problem) {
      ctx.issues.push({ code: "custom", message: problem, input: ctx.value });
    }
  }).default(s.default);

/**
 * An OpenRouter key: sent in a header, so printable ASCII, and never holding
 * a quote (an unclosed quote in `.env` stays in the value). Never echoed back.
 */
const upstreamKey = optionalSecret.refine(
  (v) => v === undefined || isWellFormedKey(v),
  {
    error:
      "must be printable ASCII without spaces, quotes or line breaks (look for a stray quote or \\n in .env)",
  },
);

/**
 * Whether `host` can be listened on by name or address: what a URL takes as
 * its host (an IPv6 address bare or in brackets), so `999.1.1.1` or a name
 * with a space is refused before the listen fails on it.
 */
function isHostName(host: string): boolean {
  if (/[\s/@?#\\]/.test(host)) return false;
  const bracketed = host.includes(":") && !host.startsWith("[")
    ? `[${host}]`
    : host;
  try {
    return new URL(`http://${bracketed}/`).hostname !== "";
  } catch {
    return false;
  }
}

/** The comma-separated entries of FREEROUTER_CORS_ORIGINS. */
function corsOrigins(value: string | undefined): string[] {
  return (value ?? "").split(",").map((o) => o.trim()).filter((o) => o !== "");
}

/**
 * `*`, or an origin as a browser sends it: scheme, host and port only. An
 * extension's or an app's origin (`chrome-extension://<id>`,
 * `moz-extension://<id>`, `tauri://localhost`) is taken as written.
 */
function isOrigin(value: string): boolean {
  if (value === "*") return true;
  if (!/^https?:/i.test(value)) {
    return /^[a-z][a-z0-9+.-]*:\/\/[^/?#\s]+$/i.test(value);
  }
  try {
    const origin = new URL(value).origin;
    return origin !== "null" && origin === value;
  } catch {
    return false;
  }
}

const envSchema = z.object({
  OPENROUTER_API_KEY: upstreamKey,
  OPENROUTER_BASE_URL: z.url({
    protocol: /^https?$/,
    error: "must be an http(s) URL",
  }).refine((url) => !/\s/.test(url.trim()), {
    // A URL would take them (as %20): a `.env` line holding two settings.
    error: "must not contain spaces",
  }).default(DEFAULT_BASE_URL),
  HOST: z.string().trim().min(1, "must not be empty").refine(isHostName, {
    error: "must be a host name or an IP address (127.0.0.1, 0.0.0.0, ::1 …)",
  }).default("127.0.0.1"),
  PORT: decimal("must be a port number").pipe(
    z.number().int("must be an integer")
      .min(0, "must be between 0 and 65535")
      .max(65535, "must be between 0 and 65535"),
  ).default(8000),
  MODEL_REFRESH_TTL: setting(SETTINGS.modelRefreshTtl),
  MAX_ATTEMPTS: setting(SETTINGS.maxAttempts),
  COOLDOWN_SECONDS: setting(SETTINGS.cooldownSeconds),
  REQUEST_TIMEOUT: setting(SETTINGS.requestTimeout),
  FREEROUTER_STREAM_IDLE_TIMEOUT: setting(SETTINGS.streamIdleTimeout),
  FREEROUTER_KEEPALIVE_TIMEOUT: setting(SETTINGS.keepAliveTimeout),
  FREEROUTER_KV_PATH: z.string().trim().min(1, "must not be empty").default(
    ".freerouter/kv.sqlite",
  ),
  FREEROUTER_API_KEY: optionalSecret.refine(
    (v) => v === undefined || isAccessKey(v),
    { error: KEY_RULE },
  ),
  DENO_KV_ACCESS_TOKEN: optionalSecret,
  FREEROUTER_RPM: setting(SETTINGS.rpm),
  FREEROUTER_MAX_WAIT: setting(SETTINGS.maxWait),
  FREEROUTER_MAX_BODY_BYTES: setting(SETTINGS.maxBodyBytes),
  FREEROUTER_CLIENT_KEYS: z.string().trim().optional(),
  FREEROUTER_CACHE_TTL: setting(SETTINGS.cacheTtl),
  FREEROUTER_CACHE_MAX_BYTES: setting(SETTINGS.cacheMaxBytes),
  FREEROUTER_CORS_ORIGINS: z.string().optional().refine(
    (v) => corsOrigins(v).every(isOrigin),
    'must be "*" or comma-separated origins such as https://app.example (no path, no trailing slash)',
  ).transform(corsOrigins),
  FREEROUTER_ALLOW_OPEN: z.enum(["0", "1", "true", "false"], {
    error: "must be 1 or 0",
  }).optional()
    .transform((v) => v === "1" || v === "true"),
  LOG_FORMAT: z.enum(["pretty", "json"], {
    error: 'must be "pretty" or "json"',
  }).default("pretty"),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"], {
    error: "must be debug, info, warn or error",
  })
    .default("info"),
  FREEROUTER_STREAM_RESUME: z.enum(["on", "off"], {
    error: 'must be "on" or "off"',
  }).default("on"),
  FREEROUTER_SAME_MODEL_WAIT: setting(SETTINGS.sameModelWait),
  FREEROUTER_AFFINITY: z.enum(["on", "off"], {
    error: 'must be "on" or "off"',
  }).default("on"),
  FREEROUTER_STRATEGY: z.enum(["quality", "priority", "adaptive"], {
    error: 'must be "quality", "priority" or "adaptive"',
  })
    .default("quality"),
  FREEROUTER_ALIASES: z.string().optional().transform((v, ctx) => {
    const parsed = parseAliases(v ?? "");
    if (!parsed.ok) {
      ctx.issues.push({
        code: "custom",
        message: `alias ${JSON.stringify(parsed.alias)} ${parsed.problem}`,
        input: v,
      });
      return z.NEVER;
    }
    return Object.fromEntries(parsed.aliases);
  }),
});

/**
 * Every environment variable the proxy reads: `deno task start` is allowed to
 * read exactly these (`--allow-env=…`; a test keeps the two lists equal).
 */
export const ENV_KEYS: readonly string[] = Object.keys(envSchema.shape);

/**
 * Warnings for the variables of `env` that look like freerouter's settings
 * (`FREEROUTER_*`, `OPENROUTER_*`) but are none, with the setting meant when
 * it differs only by the `FREEROUTER_` prefix. The process reads only the
 * settings it knows, so these come from `.env`, which is read whole.
 */
export function unknownSettings(
  env: Record<string, string | undefined>,
): string[] {
  const known = new Set(ENV_KEYS);
  const out: string[] = [];
  for (const key of Object.keys(env)) {
    if (!/^(FREEROUTER|OPENROUTER)_/.test(key) || known.has(key)) continue;
    const meant = [key.replace(/^FREEROUTER_/, ""), `FREEROUTER_${key}`]
      .find((k) => k !== key && known.has(k));
    out.push(
      `${key} is not a freerouter setting and is ignored${
        meant ? ` (did you mean ${meant}?)` : ""
      }`,
    );
  }
  return out;
}

const SECRETS = new Set([
  "OPENROUTER_API_KEY",
  "FREEROUTER_API_KEY",
  "DENO_KV_ACCESS_TOKEN",
]);

/**
 * A setting's value as a configuration error shows it, with what may be a
 * secret left out: a URL's user name and password (a gateway's
 * credentials), the secrets' values, an OpenRouter key, and whatever follows
 * `NAME=` (a `.env` line holding two settings, the second a key).
 */
function shownValue(
  value: string,
  env: Record<string, string | undefined>,
): string {
  // Up to the first space: what follows is another setting, never this one.
  const word = value.trim().split(/\s/)[0] ?? "";
  let out = withoutCredentials(word)
    .replace(/\b([A-Z][A-Z\d_]*)=\S+/g, "$1=…")
    .replace(/sk-or-[\w-]+/g, "sk-or-…");
  for (const key of SECRETS) {
    const secret = env[key]?.trim();
    if (secret) out = out.split(secret).join("…");
  }
  if (word.length < value.trim().length) out += " …";
  return out.length > 200 ? `${out.slice(0, 200)}…` : out;
}

/**
 * Validates the environment. Empty strings count as unset. Throws
 * {@link ConfigError} with one line naming the key (never a secret's value).
 */
export function parseServerConfig(
  env: Record<string, string | undefined>,
): ServerConfig {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = env[key];
    input[key] = value === undefined || value.trim() === "" ? undefined : value;
  }
  const result = envSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = String(issue.path[0]);
    const shown = SECRETS.has(key)
      ? ""
      : ` (got ${JSON.stringify(shownValue(input[key] ?? "", env))})`;
    throw new ConfigError(
      `Invalid configuration: ${key} ${issue.message}${shown}`,
    );
  }
  const e = result.data;
  return {
    openrouterApiKey: e.OPENROUTER_API_KEY,
    baseUrl: e.OPENROUTER_BASE_URL.replace(/\/+$/, ""),
    host: e.HOST,
    port: e.PORT,
    modelRefreshTtl: e.MODEL_REFRESH_TTL,
    maxAttempts: e.MAX_ATTEMPTS,
    cooldownSeconds: e.COOLDOWN_SECONDS,
    requestTimeout: e.REQUEST_TIMEOUT,
    streamIdleTimeout: e.FREEROUTER_STREAM_IDLE_TIMEOUT,
    keepAliveTimeout: e.FREEROUTER_KEEPALIVE_TIMEOUT,
    kvPath: e.FREEROUTER_KV_PATH,
    kvAccessToken: e.DENO_KV_ACCESS_TOKEN,
    accessKey: e.FREEROUTER_API_KEY,
    rpm: e.FREEROUTER_RPM,
    maxWait: e.FREEROUTER_MAX_WAIT,
    strategy: e.FREEROUTER_STRATEGY,
    streamResume: e.FREEROUTER_STREAM_RESUME === "on",
    sameModelWait: e.FREEROUTER_SAME_MODEL_WAIT,
    affinity: e.FREEROUTER_AFFINITY === "on",
    aliases: e.FREEROUTER_ALIASES,
    maxBodyBytes: e.FREEROUTER_MAX_BODY_BYTES,
    clientKeysPath: e.FREEROUTER_CLIENT_KEYS,
    cacheTtl: e.FREEROUTER_CACHE_TTL,
    cacheMaxBytes: e.FREEROUTER_CACHE_MAX_BYTES,
    corsOrigins: e.FREEROUTER_CORS_ORIGINS,
    allowOpen: e.FREEROUTER_ALLOW_OPEN,
    logFormat: e.LOG_FORMAT,
    logLevel: e.LOG_LEVEL,
  };
}

/** Whether FREEROUTER_KV_PATH names a KV Connect URL rather than a file (or `:memory:`). */
export function isKvConnectUrl(kvPath: string): boolean {
  return /^https?:\/\//i.test(kvPath);
}

/**
 * Refuses an open relay: listening beyond this machine without
 * FREEROUTER_API_KEY would let anyone spend the OpenRouter key (or use the
 * proxy), unless FREEROUTER_ALLOW_OPEN=1 says that is intended.
 */
export function checkExposure(config: ServerConfig): void {
  if (
    isLoopback(config.host) || config.accessKey || config.clientKeysPath ||
    config.allowOpen
  ) return;
  throw new ConfigError(
    `Refusing to listen on ${config.host} without FREEROUTER_API_KEY: anyone who can reach this address could ` +
      "use the proxy (and the OpenRouter key it holds). Set FREEROUTER_API_KEY, listen on 127.0.0.1, " +
      "or set FREEROUTER_ALLOW_OPEN=1 if an open proxy is what you want.",
  );
}
