/**
 * The proxy's configuration: environment variables (and `.env`), validated at
 * startup with zod. A bad value stops startup with one line naming the key.
 *
 * @module
 */
import { z } from "zod";
import { DEFAULT_BASE_URL } from "./options.ts";

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
  kvPath: string;
  accessKey: string | undefined;
  rpm: number;
  maxWait: number;
  strategy: "priority" | "adaptive";
}

/** A configuration error; its message is one line naming the key. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const optionalSecret = z.string().trim().optional().transform((v) =>
  v || undefined
);
const positiveSeconds = (fallback: number) =>
  z.coerce.number({ error: "must be a number of seconds" }).positive(
    "must be greater than 0",
  )
    .max(86_400, "must be at most 86400").default(fallback);

const envSchema = z.object({
  OPENROUTER_API_KEY: optionalSecret,
  OPENROUTER_BASE_URL: z.url({
    protocol: /^https?$/,
    error: "must be an http(s) URL",
  }).default(DEFAULT_BASE_URL),
  HOST: z.string().trim().min(1, "must not be empty").default("127.0.0.1"),
  PORT: z.coerce.number({ error: "must be a port number" }).int(
    "must be an integer",
  )
    .min(0, "must be between 0 and 65535").max(
      65535,
      "must be between 0 and 65535",
    ).default(8000),
  MODEL_REFRESH_TTL: positiveSeconds(600),
  MAX_ATTEMPTS: z.coerce.number({ error: "must be a whole number" }).int(
    "must be a whole number",
  )
    .min(1, "must be at least 1").max(100, "must be at most 100").default(8),
  COOLDOWN_SECONDS: positiveSeconds(60),
  REQUEST_TIMEOUT: positiveSeconds(60),
  FREEROUTER_STREAM_IDLE_TIMEOUT: positiveSeconds(60),
  FREEROUTER_KV_PATH: z.string().trim().min(1, "must not be empty").default(
    ".freerouter/kv.sqlite",
  ),
  FREEROUTER_API_KEY: optionalSecret,
  FREEROUTER_RPM: z.coerce.number({ error: "must be a whole number" }).int(
    "must be a whole number",
  )
    .min(0, "must be 0 (off) or more").default(20),
  FREEROUTER_MAX_WAIT: z.coerce.number({ error: "must be a number of seconds" })
    .min(0, "must be 0 or more")
    .max(3600, "must be at most 3600").default(30),
  FREEROUTER_STRATEGY: z.enum(["priority", "adaptive"], {
    error: 'must be "priority" or "adaptive"',
  })
    .default("priority"),
});

const SECRETS = new Set(["OPENROUTER_API_KEY", "FREEROUTER_API_KEY"]);

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
      : ` (got ${JSON.stringify(input[key])})`;
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
    kvPath: e.FREEROUTER_KV_PATH,
    accessKey: e.FREEROUTER_API_KEY,
    rpm: e.FREEROUTER_RPM,
    maxWait: e.FREEROUTER_MAX_WAIT,
    strategy: e.FREEROUTER_STRATEGY,
  };
}
