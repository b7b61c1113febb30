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

const NEEDS_QUOTES = /\s/;

function pretty(fields: Record<string, unknown>): string {
  let out = "";
  for (const k in fields) {
    const v = fields[k];
    out += `${out === "" ? "" : " "}${k}=${
      typeof v === "string" && v !== "" && !NEEDS_QUOTES.test(v)
        ? v
        : JSON.stringify(v)
    }`;
  }
  return out;
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
  const emit = (lvl: LogLevel) => {
    if (LOG_LEVELS.indexOf(lvl) < min) return () => {};
    const upper = lvl.toUpperCase();
    return (message: string, fields?: Record<string, unknown>) => {
      const time = new Date().toISOString();
      write(
        format === "json"
          ? JSON.stringify({ time, level: lvl, msg: message, ...fields })
          : `${time} ${upper} ${message}${fields ? ` ${pretty(fields)}` : ""}`,
      );
    };
  };
  return { info: emit("info"), warn: emit("warn") };
}

/**
 * A line writer straight to the process's stderr, when the runtime offers one
 * (Deno): it skips `console.error`'s argument formatting, which costs more
 * than the write itself on a busy proxy. Falls back to `console.error`.
 */
export function stderrWriter(): (line: string) => void {
  const stderr = (globalThis as {
    Deno?: { stderr?: { writeSync(p: Uint8Array): number } };
  }).Deno?.stderr;
  if (stderr === undefined) return (line) => console.error(line);
  const encoder = new TextEncoder();
  return (line) => {
    const bytes = encoder.encode(`${line}\n`);
    let written = 0;
    while (written < bytes.length) {
      written += stderr.writeSync(bytes.subarray(written));
    }
  };
}
