/**
 * The one table of numeric settings: each setting's library option, its
 * environment variable, its default and its bounds. The library's options
 * (`options.ts`) and the proxy's configuration (`server/config.ts`) both read
 * it, so a default or a bound cannot differ between them. Pure.
 *
 * @module
 */

/** A numeric setting. */
export interface NumericSetting {
  /** The library option, e.g. `maxAttempts`. */
  readonly option: string;
  /** The environment variable, e.g. `MAX_ATTEMPTS`. */
  readonly env: string;
  /** What a wrong value is told, e.g. "must be a number of seconds". */
  readonly kind: string;
  readonly default: number;
  /** Smallest value allowed (with `exclusive`, values must be greater). */
  readonly min: number;
  readonly exclusive?: boolean;
  readonly max?: number;
  readonly integer?: boolean;
  /** The message for a value below `min`, when the generic one would mislead. */
  readonly belowMin?: string;
}

const secondsSetting = (
  option: string,
  env: string,
  fallback: number,
): NumericSetting => ({
  option,
  env,
  kind: "must be a number of seconds",
  default: fallback,
  min: 0,
  exclusive: true,
  max: 86_400,
});

/** Every numeric setting, by library option. */
export const SETTINGS = {
  maxAttempts: {
    option: "maxAttempts",
    env: "MAX_ATTEMPTS",
    kind: "must be a whole number",
    default: 8,
    min: 1,
    max: 100,
    integer: true,
  },
  cooldownSeconds: secondsSetting("cooldownSeconds", "COOLDOWN_SECONDS", 60),
  modelRefreshTtl: secondsSetting("modelRefreshTtl", "MODEL_REFRESH_TTL", 600),
  requestTimeout: secondsSetting("requestTimeout", "REQUEST_TIMEOUT", 60),
  streamIdleTimeout: secondsSetting(
    "streamIdleTimeout",
    "FREEROUTER_STREAM_IDLE_TIMEOUT",
    60,
  ),
  keepAliveTimeout: secondsSetting(
    "keepAliveTimeout",
    "FREEROUTER_KEEPALIVE_TIMEOUT",
    300,
  ),
  rpm: {
    option: "rpm",
    env: "FREEROUTER_RPM",
    kind: "must be a whole number",
    default: 20,
    min: 0,
    integer: true,
    belowMin: "must be 0 (off) or more",
  },
  maxWait: {
    option: "maxWait",
    env: "FREEROUTER_MAX_WAIT",
    kind: "must be a number of seconds",
    default: 30,
    min: 0,
    max: 3_600,
    belowMin: "must be 0 or more",
  },
  sameModelWait: {
    option: "sameModelWait",
    env: "FREEROUTER_SAME_MODEL_WAIT",
    kind: "must be a number of seconds",
    default: 3,
    min: 0,
    max: 60,
    belowMin: "must be 0 (off) or more",
  },
  maxBodyBytes: {
    option: "maxBodyBytes",
    env: "FREEROUTER_MAX_BODY_BYTES",
    kind: "must be a number of bytes",
    default: 10 * 1024 * 1024,
    min: 1_024,
    integer: true,
  },
  cacheTtl: {
    option: "cacheTtl",
    env: "FREEROUTER_CACHE_TTL",
    kind: "must be a number of seconds",
    default: 0,
    min: 0,
    max: 86_400,
    belowMin: "must be 0 (off) or more",
  },
  cacheMaxBytes: {
    option: "cacheMaxBytes",
    env: "FREEROUTER_CACHE_MAX_BYTES",
    kind: "must be a number of bytes",
    default: 16 * 1024 * 1024,
    min: 1_024,
    integer: true,
  },
} as const satisfies Record<string, NumericSetting>;

/** What is wrong with a value of a setting (e.g. "must be at most 100"), or undefined when it fits. */
export function settingProblem(
  setting: NumericSetting,
  value: number,
): string | undefined {
  if (typeof value !== "number" || Number.isNaN(value)) return setting.kind;
  if (setting.integer && !Number.isInteger(value)) {
    return "must be a whole number";
  }
  if (setting.exclusive ? value <= setting.min : value < setting.min) {
    return setting.belowMin ??
      (setting.exclusive
        ? `must be greater than ${setting.min}`
        : `must be at least ${setting.min}`);
  }
  if (setting.max !== undefined && value > setting.max) {
    return `must be at most ${setting.max}`;
  }
  return undefined;
}
