/**
 * Regenerates the free-model table in README.md from OpenRouter's live catalog.
 *
 * Fetches `{OPENROUTER_BASE_URL}/models` (public; `OPENROUTER_API_KEY` is sent
 * as a Bearer token when set), builds the pool with the router's own rules
 * ({@link buildFreePool}), and rewrites the text between
 * `<!-- models:start -->` and `<!-- models:end -->`: a count line, then a
 * `| Model ID | Context |` table in priority order. The table is written the
 * way `deno fmt` formats Markdown tables (padded columns), so the README stays
 * `deno fmt --check` clean and a rerun on the same catalog changes no byte.
 *
 * ```sh
 * deno task update-models            # rewrite README.md
 * deno task update-models --check    # exit 1 when README.md is stale
 * ```
 *
 * Options: `--check`, `--readme <path>` (default: the repository's README.md),
 * `--base-url <url>` (default: `OPENROUTER_BASE_URL`, else
 * `https://openrouter.ai/api/v1`).
 *
 * Exit codes: 0 written or up to date; 1 stale (`--check`) or the catalog could
 * not be fetched; 2 usage error (unknown option, bad URL, unreadable README,
 * missing markers).
 *
 * @module
 */
import { buildFreePool } from "../src/core/free_pool.ts";
import type { FreeModel } from "../src/types.ts";

/** Opens the generated block. */
export const START_MARKER = "<!-- models:start -->";
/** Closes the generated block. */
export const END_MARKER = "<!-- models:end -->";
/** Used when neither `--base-url` nor `OPENROUTER_BASE_URL` is set. */
export const DEFAULT_BASE_URL = "https://openrouter.ai/api/v1";
/** How long the catalog request may take. */
export const FETCH_TIMEOUT_MS = 30_000;

const HEADER = ["Model ID", "Context"] as const;
const NUMBER_FORMAT = new Intl.NumberFormat("en-US");

/** The README lacks usable markers. */
export class MarkerError extends Error {
  override name = "MarkerError";
}

/** A table cell: `|` escaped, whitespace runs collapsed (ids are one line). */
function cell(text: string): string {
  return text.replace(/\s+/g, " ").trim().replaceAll("|", "\\|");
}

/**
 * The generated block for a pool (already in priority order): the count line,
 * a blank line, and the table, without a trailing newline. Columns are padded
 * like `deno fmt` pads them.
 */
export function renderModelTable(pool: readonly FreeModel[]): string {
  const rows = pool.map((m) => [
    cell(m.id),
    NUMBER_FORMAT.format(m.context_length),
  ]);
  const widths = HEADER.map((h, i) =>
    Math.max(3, h.length, ...rows.map((r) => r[i]!.length))
  );
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  const count = `${pool.length} free model${pool.length === 1 ? "" : "s"}.`;
  return [
    count,
    "",
    line(HEADER),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
  ].join("\n");
}

/** Where the generated block sits: the text strictly between the markers. */
function markerSpan(readme: string): { from: number; to: number } {
  const start = readme.indexOf(START_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (start === -1) throw new MarkerError(`no ${START_MARKER} marker`);
  if (end === -1) throw new MarkerError(`no ${END_MARKER} marker`);
  if (readme.indexOf(START_MARKER, start + 1) !== -1) {
    throw new MarkerError(`more than one ${START_MARKER} marker`);
  }
  if (readme.indexOf(END_MARKER, end + 1) !== -1) {
    throw new MarkerError(`more than one ${END_MARKER} marker`);
  }
  if (end < start) {
    throw new MarkerError(`${END_MARKER} comes before ${START_MARKER}`);
  }
  return { from: start + START_MARKER.length, to: end };
}

/**
 * Replaces the text between the markers with `table`, surrounded by one blank
 * line on each side; the markers and everything outside them are kept. Throws
 * {@link MarkerError} when the markers are missing, repeated or out of order.
 */
export function replaceBetweenMarkers(readme: string, table: string): string {
  const { from, to } = markerSpan(readme);
  return `${readme.slice(0, from)}\n\n${table}\n\n${readme.slice(to)}`;
}

/** One row of a table already in a README. */
export interface TableRow {
  /** Model id as written (unescaped). */
  id: string;
  /** Context length, or `NaN` when the cell is not a number. */
  context: number;
}

/**
 * The rows of the table between the markers (header and delimiter rows
 * skipped). Throws {@link MarkerError} like {@link replaceBetweenMarkers}.
 */
export function readTableRows(readme: string): TableRow[] {
  const { from, to } = markerSpan(readme);
  const rows: TableRow[] = [];
  let header = true;
  for (const raw of readme.slice(from, to).split("\n")) {
    const line = raw.trim();
    if (!line.startsWith("|")) continue;
    const cells = line.slice(1, line.endsWith("|") ? -1 : undefined)
      .split(/(?<!\\)\|/).map((c) => c.trim());
    if (header) {
      header = !cells.every((c) => /^:?-+:?$/.test(c));
      continue;
    }
    rows.push({
      id: (cells[0] ?? "").replaceAll("\\|", "|"),
      context: Number((cells[1] ?? "").replaceAll(",", "")),
    });
  }
  return rows;
}

/** A short human summary of how the README's table differs from the pool. */
export function summarizeChanges(
  current: readonly TableRow[],
  pool: readonly FreeModel[],
): string[] {
  const before = new Map(current.map((r) => [r.id, r.context]));
  const after = new Map(pool.map((m) => [m.id, m.context_length]));
  const fmt = (n: number) => Number.isNaN(n) ? "?" : NUMBER_FORMAT.format(n);
  const lines: string[] = [];
  for (const [id, context] of after) {
    const old = before.get(id);
    if (old === undefined) lines.push(`+ ${id} (${fmt(context)})`);
    else if (old !== context) {
      lines.push(`~ ${id}: context ${fmt(old)} -> ${fmt(context)}`);
    }
  }
  for (const id of before.keys()) {
    if (!after.has(id)) lines.push(`- ${id}`);
  }
  const kept = (ids: Iterable<string>, other: Map<string, number>) =>
    [...ids].filter((id) => other.has(id)).join("\n");
  if (kept(before.keys(), after) !== kept(after.keys(), before)) {
    lines.push("priority order changed");
  }
  if (lines.length === 0) lines.push("formatting differs");
  return lines;
}

/** Parsed command line. */
export interface Options {
  /** Only compare; do not write. */
  check: boolean;
  /** README path or URL. */
  readme: string | URL;
  /** Catalog base URL, without trailing slashes. */
  baseUrl: string;
}

/** A bad command line. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** `--help` or `-h` was given. */
export class HelpRequested extends Error {
  override name = "HelpRequested";
}

const USAGE =
  "usage: update_models.ts [--check] [--readme <path>] [--base-url <url>]";

/**
 * Parses the command line. `env` supplies `OPENROUTER_BASE_URL` (empty counts
 * as unset). Throws {@link UsageError}, or {@link HelpRequested} for `--help`.
 */
export function parseOptions(
  args: readonly string[],
  env: (key: string) => string | undefined,
): Options {
  let check = false;
  let readme: string | URL = new URL("../README.md", import.meta.url);
  let baseUrl = env("OPENROUTER_BASE_URL") || DEFAULT_BASE_URL;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq !== -1 ? arg.slice(0, eq) : arg;
    const value = () => {
      if (eq !== -1 && name !== arg) return arg.slice(eq + 1);
      const next = args[++i];
      if (next === undefined) throw new UsageError(`${name} needs a value`);
      return next;
    };
    if (arg === "--help" || arg === "-h") throw new HelpRequested();
    if (arg === "--check") check = true;
    else if (name === "--readme") readme = value();
    else if (name === "--base-url") baseUrl = value();
    else throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
  }
  if (readme === "") throw new UsageError("--readme must not be empty");
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new UsageError(`not a URL: ${JSON.stringify(baseUrl)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`not an http(s) URL: ${JSON.stringify(baseUrl)}`);
  }
  return { check, readme, baseUrl: baseUrl.replace(/\/+$/, "") };
}

/** The catalog could not be fetched or read. */
export class FetchError extends Error {
  override name = "FetchError";
}

/**
 * Fetches `{baseUrl}/models` and returns its `data` rows. Throws
 * {@link FetchError} with a one-line message on any failure.
 */
export async function fetchCatalog(
  baseUrl: string,
  apiKey: string | undefined,
  timeoutMs: number = FETCH_TIMEOUT_MS,
): Promise<unknown[]> {
  const url = `${baseUrl}/models`;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const headers: Record<string, string> = { accept: "application/json" };
    if (apiKey) headers.authorization = `Bearer ${apiKey}`;
    let res: Response;
    try {
      res = await fetch(url, { headers, signal: controller.signal });
    } catch (err) {
      throw new FetchError(
        controller.signal.aborted
          ? `GET ${url} timed out after ${timeoutMs / 1000} s`
          : `GET ${url} failed: ${oneLine(err)}`,
      );
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new FetchError(`GET ${url} answered ${res.status}`);
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch (err) {
      throw new FetchError(
        controller.signal.aborted
          ? `GET ${url} timed out after ${timeoutMs / 1000} s`
          : `GET ${url} answered a body that is not JSON: ${oneLine(err)}`,
      );
    }
    const data = (body as { data?: unknown } | null)?.data;
    if (!Array.isArray(data)) {
      throw new FetchError(`GET ${url} answered without a data array`);
    }
    return data;
  } finally {
    clearTimeout(timer);
  }
}

function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split("\n")[0]!.trim();
}

function displayPath(readme: string | URL): string {
  return readme instanceof URL ? decodeURIComponent(readme.pathname) : readme;
}

/** Runs the command; returns the exit code. Messages go to stdout/stderr. */
export async function main(args: readonly string[]): Promise<number> {
  const fail = (code: number, message: string) => {
    console.error(`update-models: ${message}`);
    return code;
  };
  let options: Options;
  try {
    options = parseOptions(args, (key) => Deno.env.get(key));
  } catch (err) {
    if (err instanceof HelpRequested) {
      console.log(USAGE);
      return 0;
    }
    if (!(err instanceof UsageError)) throw err;
    return fail(2, `${err.message}\n${USAGE}`);
  }
  const path = displayPath(options.readme);

  let readme: string;
  let current: TableRow[];
  try {
    readme = await Deno.readTextFile(options.readme);
    current = readTableRows(readme);
  } catch (err) {
    if (err instanceof MarkerError) return fail(2, `${path}: ${err.message}`);
    return fail(2, `cannot read ${path}: ${oneLine(err)}`);
  }

  let pool: FreeModel[];
  try {
    const apiKey = Deno.env.get("OPENROUTER_API_KEY") || undefined;
    pool = buildFreePool(await fetchCatalog(options.baseUrl, apiKey));
  } catch (err) {
    if (!(err instanceof FetchError)) throw err;
    return fail(1, err.message);
  }
  if (pool.length === 0) {
    return fail(
      1,
      `${options.baseUrl}/models listed no free chat model; ${path} left as is`,
    );
  }

  const updated = replaceBetweenMarkers(readme, renderModelTable(pool));
  if (updated === readme) {
    console.log(`${path} is up to date (${pool.length} free models)`);
    return 0;
  }
  if (options.check) {
    console.error(
      `update-models: ${path} is stale: its model table differs from ${options.baseUrl}/models (run deno task update-models)`,
    );
    for (const line of summarizeChanges(current, pool)) {
      console.error(`  ${line}`);
    }
    return 1;
  }
  try {
    await Deno.writeTextFile(options.readme, updated);
  } catch (err) {
    return fail(1, `cannot write ${path}: ${oneLine(err)}`);
  }
  console.log(`${path}: wrote ${pool.length} free models`);
  for (const line of summarizeChanges(current, pool)) console.log(`  ${line}`);
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
