/**
 * A console logger with levels and two formats: `pretty` (one readable line)
 * and `json` (one JSON object per line).
 *
 * @module
 */
import { isoTime } from "../ops/iso_time.ts";
import type { Logger } from "../options.ts";

/** Log levels, least to most severe. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/** A log level. */
export type LogLevel = typeof LOG_LEVELS[number];

const NEEDS_QUOTES = /\s/;
/** A line break in a message (a stack trace, or text a client chose). */
const LINE_BREAK = /\r\n?|\n/g;

/**
 * A `pretty` message's later lines, indented: a stack trace stays readable,
 * and no text a client put in a message can start a line of its own that
 * reads as another entry.
 */
function indentedLines(message: string): string {
  return message.replace(LINE_BREAK, "\n    ");
}

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
      const time = isoTime();
      write(
        format === "json"
          ? JSON.stringify({ time, level: lvl, msg: message, ...fields })
          : `${time} ${upper} ${indentedLines(message)}${
            fields ? ` ${pretty(fields)}` : ""
          }`,
      );
    };
  };
  const logger: Logger = {
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
  };
  // Left out below its level, so that no debug line is even built.
  if (min === 0) logger.debug = emit("debug");
  return logger;
}

/** Where {@link LineBuffer} sends a batch of lines. */
export type LineSink = (bytes: Uint8Array) => void;

/**
 * How {@link LineBuffer} schedules its delayed write: calls `fn` after `ms`
 * and returns what cancels that call. The default is `setTimeout`.
 */
export type FlushTimer = (fn: () => void, ms: number) => () => void;

/** `setTimeout`, as a {@link FlushTimer}. */
export const setTimeoutTimer: FlushTimer = (fn, ms) => {
  const timer = setTimeout(fn, ms);
  return () => clearTimeout(timer);
};

/**
 * Collects log lines and writes them in batches: one write per `maxDelayMs`
 * (or per `maxBytes` of lines) instead of one per line. A busy proxy logs a
 * line per request; writing each one costs a system call, about as much as
 * formatting it. Lines keep their order; `flush()` writes what is pending.
 *
 * @example Two lines, one write
 * ```ts
 * import { LineBuffer } from "./logger.ts";
 * const writes: string[] = [];
 * const lines = new LineBuffer((bytes) =>
 *   void writes.push(new TextDecoder().decode(bytes))
 * );
 * lines.write("one");
 * lines.write("two");
 * lines.flush();
 * if (writes.join() !== "one\ntwo\n") throw new Error("not batched");
 * ```
 */
export class LineBuffer {
  #pending = "";
  /** Cancels the scheduled write, while one is scheduled. */
  #cancel: (() => void) | undefined;
  readonly #encoder = new TextEncoder();

  /**
   * Lines go to `sink`, at most `maxDelayMs` after they were written (as
   * `timer` counts it).
   */
  constructor(
    readonly sink: LineSink,
    readonly maxDelayMs = 20,
    readonly maxBytes = 16 * 1024,
    readonly timer: FlushTimer = setTimeoutTimer,
  ) {}

  /** Queues one line (without its newline). */
  readonly write = (line: string): void => {
    this.#pending += `${line}\n`;
    if (this.#pending.length >= this.maxBytes) this.flush();
    else if (this.#cancel === undefined) {
      this.#cancel = this.timer(this.flush, this.maxDelayMs);
    }
  };

  /** Writes every pending line now. */
  readonly flush = (): void => {
    this.#cancel?.();
    this.#cancel = undefined;
    if (this.#pending === "") return;
    const bytes = this.#encoder.encode(this.#pending);
    this.#pending = "";
    this.sink(bytes);
  };
}

/**
 * A {@link LineBuffer} for the process's stderr, flushed when the process
 * exits (the `unload` event) and when disposed. Deno-only.
 */
export function stderrLines(): LineBuffer & Disposable {
  const stderr = Deno.stderr;
  const lines = new LineBuffer((bytes) => {
    let written = 0;
    while (written < bytes.length) {
      written += stderr.writeSync(bytes.subarray(written));
    }
  });
  const onUnload = () => lines.flush();
  globalThis.addEventListener("unload", onUnload);
  return Object.assign(lines, {
    [Symbol.dispose]() {
      globalThis.removeEventListener("unload", onUnload);
      lines.flush();
    },
  });
}
