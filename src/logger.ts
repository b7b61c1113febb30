/**
 * A console logger with levels and two formats: `pretty` (one readable line)
 * and `json` (one JSON object per line).
 *
 * @module
 */
import type { Logger } from "./options.ts";

/** Log levels, least to most severe. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/** A log level. */
export type LogLevel = typeof LOG_LEVELS[number];

function pretty(fields: Record<string, unknown>): string {
  return Object.entries(fields)
    .map(([k, v]) =>
      `${k}=${
        typeof v === "string" && !/\s/.test(v) && v !== ""
          ? v
          : JSON.stringify(v)
      }`
    )
    .join(" ");
}

/** A logger writing to stderr (`console.error`), at `level` and above. */
export function consoleLogger(
  options: {
    format?: "pretty" | "json";
    level?: LogLevel;
    write?: (line: string) => void;
  } = {},
): Logger {
  const {
    format = "pretty",
    level = "info",
    write = (line: string) => console.error(line),
  } = options;
  const min = LOG_LEVELS.indexOf(level);
  const emit =
    (lvl: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
      if (LOG_LEVELS.indexOf(lvl) < min) return;
      const time = new Date().toISOString();
      write(
        format === "json"
          ? JSON.stringify({ time, level: lvl, msg: message, ...fields })
          : `${time} ${lvl.toUpperCase()} ${message}${
            fields ? ` ${pretty(fields)}` : ""
          }`,
      );
    };
  return { info: emit("info"), warn: emit("warn") };
}
