/**
 * The process environment, with `.env` from the working directory filling in
 * what the environment leaves unset. Works on Deno and Node (`node:` modules).
 *
 * @module
 */
import { readFileSync } from "node:fs";
import process from "node:process";

/**
 * Parses `.env` text: `KEY=value` lines, `export ` prefixes, `#` comments,
 * single or double quotes (double quotes expand `\n`). Pure.
 */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$/.exec(
      line,
    );
    if (!match) continue;
    const key = match[1]!;
    let value = match[2]!;
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.indexOf(quote, 1) > 0) {
      value = value.slice(1, value.indexOf(quote, 1));
      if (quote === '"') value = value.replace(/\\n/g, "\n");
    } else {
      value = value.replace(/\s+#.*$/, "").trim();
    }
    out[key] = value;
  }
  return out;
}

/** Reads `.env` in `dir` (default: the working directory); `{}` when absent or unreadable. */
export function readDotenv(dir?: string): Record<string, string> {
  try {
    return parseDotenv(readFileSync(`${dir ?? process.cwd()}/.env`, "utf8"));
  } catch {
    return {};
  }
}

/**
 * The environment with `.env` underneath: a variable set (non-empty) in the
 * environment wins over the same key in `.env`. With `keys`, only those
 * variables are read from the environment (so a process allowed to read just
 * them, as `deno task start` is, never asks for another); without, all of
 * them. A variable the runtime denies access to counts as unset.
 */
export function loadEnv(
  dir?: string,
  keys?: readonly string[],
): Record<string, string | undefined> {
  const merged: Record<string, string | undefined> = readDotenv(dir);
  const set = (key: string, value: string | undefined) => {
    if (value !== undefined && value !== "") merged[key] = value;
  };
  try {
    if (keys) { for (const key of keys) set(key, readVariable(key)); }
    else {for (const [key, value] of Object.entries(process.env)) {
        set(key, value);
      }}
  } catch {
    // Deno without --allow-env: only .env applies
  }
  return merged;
}

function readVariable(key: string): string | undefined {
  try {
    return process.env[key];
  } catch {
    return undefined; // not among the variables this process may read
  }
}
