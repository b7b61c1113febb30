/**
 * End-to-end drivers for the real coding agents: Claude Code
 * (`@anthropic-ai/claude-code@2.1.328`, Anthropic Messages) and Codex
 * (`@openai/codex@0.169.0`, OpenAI Responses), run headless against a local
 * server.
 *
 * The clients are installed outside git's view by
 * {@link CLIENTS_INSTALL_COMMAND}. When they are missing, {@link claudeBin} and
 * {@link codexBin} return `undefined` so a test can skip with
 * {@link CLIENTS_MISSING}.
 *
 * Each run gets fresh temporary `HOME`, `TMPDIR`, tool and working directories
 * (removed afterwards), a cleared environment holding only the variables set
 * here, no stdin, and an outer `timeout` that kills the client's whole
 * process group.
 */

/** Pinned versions, as the issues name them. */
export const CLAUDE_CODE_VERSION = "2.1.328";
/** Pinned Codex version. */
export const CODEX_VERSION = "0.169.0";

const ROOT = new URL("../../", import.meta.url).pathname;
const CLIENTS_PREFIX = `${ROOT}.ci/.tools/clients`;
const BIN_DIR = `${CLIENTS_PREFIX}/node_modules/.bin`;

/** Installs both clients where this module looks for them (about 15 s, 760 MB). */
export const CLIENTS_INSTALL_COMMAND =
  `npm install --no-save --no-package-lock --prefix .ci/.tools/clients ` +
  `@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION} @openai/codex@${CODEX_VERSION}`;

/** The message a test skips with when a client is not installed. */
export const CLIENTS_MISSING =
  `coding agents not installed under .ci/.tools/clients; run: ${CLIENTS_INSTALL_COMMAND}`;

const decoder = new TextDecoder();

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function onPath(name: string): boolean {
  const path = Deno.env.get("PATH") ?? "";
  return path.split(":").some((dir) => dir !== "" && isFile(`${dir}/${name}`));
}

/** Path of the `claude` binary (a native executable), or `undefined` when not installed. */
export function claudeBin(): string | undefined {
  const bin = `${BIN_DIR}/claude`;
  return isFile(bin) ? bin : undefined;
}

/**
 * Path of the `codex` launcher, or `undefined` when not installed. The
 * launcher is a Node script that starts the native binary, so `node` must be
 * on `PATH` too.
 */
export function codexBin(): string | undefined {
  const bin = `${BIN_DIR}/codex`;
  return isFile(bin) && onPath("node") ? bin : undefined;
}

/** What a finished client printed. */
export interface ClientResult {
  /** Exit code of `timeout`: the client's own, or 124 (137 after SIGKILL) when it timed out. */
  code: number;
  stdout: string;
  stderr: string;
  /** The outer timeout fired. */
  timedOut: boolean;
}

/**
 * The fields of Claude Code's `--output-format json` result that tests read
 * (it prints more). Silent failures (a stream without `content_block_stop`)
 * exit 0 with `is_error: false` and `result: ""`: check `result`.
 */
export interface ClaudeJson {
  type: "result";
  subtype: string;
  is_error: boolean;
  /** The final answer text (or `API Error: …` when `is_error`). */
  result: string;
  num_turns: number;
  stop_reason: string | null;
  /** `completed` or `api_error`. */
  terminal_reason?: string;
  /** HTTP status of the failed request when `terminal_reason` is `api_error`. */
  api_error_status?: number | null;
  /** Tool calls refused by the permission rules. */
  permission_denials: Array<{ tool_name: string; tool_input: unknown }>;
  usage?: { input_tokens: number; output_tokens: number };
  [key: string]: unknown;
}

/** A Claude Code run's result, with its parsed JSON output when it printed one. */
export interface ClaudeResult extends ClientResult {
  json?: ClaudeJson;
}

/** Options of {@link runClaude}. */
export interface ClaudeOptions {
  /** Server origin, e.g. `http://127.0.0.1:8000`; Claude Code appends `/v1/messages?beta=true`. */
  baseUrl: string;
  prompt: string;
  /** Outer bound on the whole run, in seconds. */
  timeoutSec: number;
  /** Tools allowed without asking, e.g. `["Bash"]` (read-only commands such as `echo` are allowed anyway). */
  allowedTools?: string[];
  /** `--model`. @default "auto" */
  model?: string;
  /** Sent as `x-api-key`. @default "anything" */
  apiKey?: string;
  /** Sent as `Authorization: Bearer` instead of `x-api-key` (`ANTHROPIC_AUTH_TOKEN`). */
  authToken?: string;
  /** `CLAUDE_CODE_MAX_RETRIES`: retries of 429/5xx/529 after the first attempt. @default 1 */
  maxRetries?: number;
  /**
   * Aborts a stream that stays silent this long (`CLAUDE_ENABLE_BYTE_WATCHDOG`,
   * at least 10 000 ms); Claude Code then asks again with `stream: false`.
   * Unset, a stalled stream hangs for 300 s or more.
   */
  streamIdleTimeoutMs?: number;
  /** Extra variables, set last. */
  env?: Record<string, string>;
  /** Called with the (absolute) working directory before the run, to put files there. */
  setup?: (workDir: string) => Promise<void>;
  /**
   * A directory of the caller's, kept between runs, holding the home and
   * working directories (fresh ones otherwise): runs that share it are one
   * user's sessions in one directory.
   */
  userDir?: string;
  /** `--continue`: go on with the last session in `userDir`. */
  continueSession?: boolean;
}

/** Directories `names` under `kept` (made when missing, left after) or a fresh root (removed after). */
async function scratch(prefix: string, names: string[], kept?: string) {
  const root = kept ?? await Deno.makeTempDir({ prefix });
  const dirs: Record<string, string> = {};
  for (const name of names) {
    dirs[name] = `${root}/${name}`;
    await Deno.mkdir(dirs[name]!, { recursive: true });
  }
  return {
    dirs,
    cleanup: () =>
      kept === undefined
        ? Deno.remove(root, { recursive: true })
        : Promise.resolve(),
  };
}

async function run(
  bin: string,
  args: string[],
  env: Record<string, string>,
  cwd: string,
  timeoutSec: number,
): Promise<ClientResult> {
  if (!(timeoutSec > 0)) {
    throw new RangeError(`timeoutSec must be positive: ${timeoutSec}`);
  }
  // `timeout` puts the client in its own process group and signals the whole
  // group, so the client's tool subprocesses go too; the abort signal is a
  // last resort should `timeout` itself not return.
  const command = new Deno.Command("timeout", {
    args: ["--kill-after=5", `${timeoutSec}`, bin, ...args],
    env,
    clearEnv: true,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout((timeoutSec + 15) * 1000),
  });
  const { code, stdout, stderr } = await command.output();
  return {
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
    timedOut: code === 124 || code === 137,
  };
}

function basePath(): string {
  return Deno.env.get("PATH") ?? "/usr/local/bin:/usr/bin:/bin";
}

function parseClaudeJson(stdout: string): ClaudeJson | undefined {
  const line = stdout.trim().split("\n").at(-1);
  if (!line) return undefined;
  try {
    const value = JSON.parse(line) as ClaudeJson;
    return value?.type === "result" ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs `claude -p <prompt> --output-format json --model auto` against
 * `baseUrl`. Throws when Claude Code is not installed (check
 * {@link claudeBin} first).
 */
export async function runClaude(options: ClaudeOptions): Promise<ClaudeResult> {
  const bin = claudeBin();
  if (bin === undefined) throw new Error(CLIENTS_MISSING);
  const { dirs, cleanup } = await scratch("freerouter-claude-", [
    "home",
    "tmp",
    "work",
  ], options.userDir);
  try {
    const env: Record<string, string> = {
      PATH: basePath(),
      HOME: dirs.home!,
      TMPDIR: dirs.tmp!,
      CLAUDE_CODE_TMPDIR: dirs.tmp!,
      ANTHROPIC_BASE_URL: options.baseUrl,
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      DISABLE_TELEMETRY: "1",
      CLAUDE_CODE_MAX_RETRIES: `${options.maxRetries ?? 1}`,
    };
    if (options.authToken !== undefined) {
      env.ANTHROPIC_AUTH_TOKEN = options.authToken;
    } else env.ANTHROPIC_API_KEY = options.apiKey ?? "anything";
    if (options.streamIdleTimeoutMs !== undefined) {
      env.CLAUDE_ENABLE_BYTE_WATCHDOG = "1";
      env.CLAUDE_BYTE_STREAM_IDLE_TIMEOUT_MS = `${
        Math.max(10_000, options.streamIdleTimeoutMs)
      }`;
    }
    Object.assign(env, options.env);
    const args = [
      "--output-format",
      "json",
      "--model",
      options.model ?? "auto",
    ];
    if (options.allowedTools?.length) {
      args.push("--allowedTools", options.allowedTools.join(","));
    }
    if (options.continueSession) args.push("--continue");
    args.push("-p", "--", options.prompt);
    await options.setup?.(dirs.work!);
    const result = await run(bin, args, env, dirs.work!, options.timeoutSec);
    return { ...result, json: parseClaudeJson(result.stdout) };
  } finally {
    await cleanup();
  }
}

/** A Codex run's result: `stdout` holds only the final answer text. */
export interface CodexResult extends ClientResult {
  /** The last agent message (`--output-last-message`), when Codex wrote one. */
  lastMessage?: string;
}

/** Options of {@link runCodex}. */
export interface CodexOptions {
  /** Server origin, e.g. `http://127.0.0.1:8000`; Codex posts to `<baseUrl><apiPath>/responses`. */
  baseUrl: string;
  prompt: string;
  /** Outer bound on the whole run, in seconds. */
  timeoutSec: number;
  /** Path prefix of the provider's `base_url`. @default "/v1" */
  apiPath?: string;
  /** `model` in config.toml. @default "auto" */
  model?: string;
  /** Value of the provider's `env_key` variable, sent as `Authorization: Bearer`. @default "anything" */
  apiKey?: string;
  /** `request_max_retries`. @default 0 */
  requestMaxRetries?: number;
  /**
   * `stream_max_retries`: how often Codex asks again after a 429, a 5xx or a
   * stream that ends without `response.completed` (it does so even with
   * `request_max_retries = 0`). @default 1
   */
  streamMaxRetries?: number;
  /** `stream_idle_timeout_ms`: fails a stream silent this long (not a request without response headers). */
  streamIdleTimeoutMs?: number;
  /** `--sandbox` for the commands the model runs. @default "read-only" */
  sandbox?: "read-only" | "workspace-write";
  /** Extra variables, set last. */
  env?: Record<string, string>;
  /** Files attached to the prompt (`--image`), relative to the working directory. */
  images?: string[];
  /** Called with the (absolute) working directory before the run, to put files there. */
  setup?: (workDir: string) => Promise<void>;
  /**
   * A directory of the caller's, kept between runs, holding the home and
   * working directories (fresh ones otherwise): runs that share it are one
   * user's sessions in one directory.
   */
  userDir?: string;
  /** `codex exec resume --last`: go on with the last session in `userDir`. */
  resume?: boolean;
  /** Lines added to config.toml's top level, e.g. `model_context_window = 64000`. */
  config?: string[];
}

function tomlString(value: string): string {
  return JSON.stringify(value);
}

function codexConfig(options: CodexOptions): string {
  const lines = [
    `model = ${tomlString(options.model ?? "auto")}`,
    `model_provider = "freerouter"`,
    // `exec resume` takes no --sandbox flag: the config says it.
    `sandbox_mode = ${tomlString(options.sandbox ?? "read-only")}`,
    ...(options.config ?? []),
    ``,
    `[model_providers.freerouter]`,
    `name = "freerouter"`,
    `base_url = ${
      tomlString(
        `${options.baseUrl.replace(/\/$/, "")}${options.apiPath ?? "/v1"}`,
      )
    }`,
    `wire_api = "responses"`,
    `env_key = "FREEROUTER_KEY"`,
    `request_max_retries = ${options.requestMaxRetries ?? 0}`,
    `stream_max_retries = ${options.streamMaxRetries ?? 1}`,
  ];
  if (options.streamIdleTimeoutMs !== undefined) {
    lines.push(`stream_idle_timeout_ms = ${options.streamIdleTimeoutMs}`);
  }
  return lines.join("\n") + "\n";
}

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/**
 * Runs `codex exec --skip-git-repo-check -c analytics.enabled=false -c
 * features.plugins=false <prompt>` against `baseUrl` with a custom provider
 * (`wire_api = "responses"`), a read-only sandbox and approval policy
 * `never`. Throws when Codex is not installed (check {@link codexBin} first).
 */
export async function runCodex(options: CodexOptions): Promise<CodexResult> {
  const bin = codexBin();
  if (bin === undefined) throw new Error(CLIENTS_MISSING);
  const { dirs, cleanup } = await scratch("freerouter-codex-", [
    "home",
    "codex",
    "tmp",
    "work",
  ], options.userDir);
  try {
    await Deno.writeTextFile(`${dirs.codex}/config.toml`, codexConfig(options));
    const env: Record<string, string> = {
      PATH: basePath(),
      HOME: dirs.home!,
      CODEX_HOME: dirs.codex!,
      TMPDIR: dirs.tmp!,
      FREEROUTER_KEY: options.apiKey ?? "anything",
      ...options.env,
    };
    const lastMessageFile = `${dirs.tmp}/last-message.txt`;
    const args = [
      "exec",
      ...(options.resume ? ["resume", "--last"] : []),
      "--skip-git-repo-check",
      "-c",
      "analytics.enabled=false",
      "-c",
      "features.plugins=false",
      "-c",
      'approval_policy="never"',
      ...(options.resume ? [] : [
        "--sandbox",
        options.sandbox ?? "read-only",
        "--color",
        "never",
      ]),
      "--output-last-message",
      lastMessageFile,
      ...(options.images ?? []).flatMap((image) => ["--image", image]),
      "--",
      options.prompt,
    ];
    await options.setup?.(dirs.work!);
    const result = await run(bin, args, env, dirs.work!, options.timeoutSec);
    return { ...result, lastMessage: await readIfPresent(lastMessageFile) };
  } finally {
    await cleanup();
  }
}
