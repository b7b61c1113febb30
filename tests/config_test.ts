import assert from "node:assert/strict";
import {
  ConfigError,
  parseServerConfig,
  type ServerConfig,
} from "../src/server/config.ts";
import { loadEnv, parseDotenv, readDotenv } from "../src/env.ts";

const DEFAULTS: ServerConfig = {
  openrouterApiKey: undefined,
  baseUrl: "https://openrouter.ai/api/v1",
  host: "127.0.0.1",
  port: 8000,
  modelRefreshTtl: 600,
  maxAttempts: 8,
  cooldownSeconds: 60,
  requestTimeout: 60,
  streamIdleTimeout: 60,
  keepAliveTimeout: 300,
  kvPath: ".freerouter/kv.sqlite",
  kvAccessToken: undefined,
  accessKey: undefined,
  rpm: 20,
  maxWait: 30,
  strategy: "quality",
  streamResume: true,
  sameModelWait: 3,
  affinity: true,
  aliases: {},
  maxBodyBytes: 10 * 1024 * 1024,
  clientKeysPath: undefined,
  cacheTtl: 0,
  cacheMaxBytes: 16 * 1024 * 1024,
  corsOrigins: [],
  allowOpen: false,
  logFormat: "pretty",
  logLevel: "info",
};

const OPENROUTER_SECRET = "sk-or-v1-0123456789abcdef0123456789abcdef";
const ACCESS_SECRET = "fr-local-access-secret-42";

/** Asserts that `env` fails with a one-line ConfigError naming `key`; returns the message. */
function configError(
  env: Record<string, string | undefined>,
  key: string,
): string {
  let message = "";
  assert.throws(() => parseServerConfig(env), (error: unknown) => {
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${error}`);
    assert.equal(error.name, "ConfigError");
    message = error.message;
    return true;
  });
  assert.equal(message.includes("\n"), false, `two lines: ${message}`);
  assert.equal(message.includes("\r"), false, `two lines: ${message}`);
  assert.ok(
    message.startsWith(`Invalid configuration: ${key} `),
    `does not name ${key}: ${message}`,
  );
  return message;
}

Deno.test("parseServerConfig() returns the defaults for an empty environment", () => {
  assert.deepEqual(parseServerConfig({}), DEFAULTS);
});

Deno.test("parseServerConfig() reads every key", () => {
  assert.deepEqual(
    parseServerConfig({
      OPENROUTER_API_KEY: OPENROUTER_SECRET,
      OPENROUTER_BASE_URL: "http://127.0.0.1:9999/api/v1",
      HOST: "0.0.0.0",
      PORT: "9000",
      MODEL_REFRESH_TTL: "300",
      MAX_ATTEMPTS: "3",
      COOLDOWN_SECONDS: "1.5",
      REQUEST_TIMEOUT: "30",
      FREEROUTER_STREAM_IDLE_TIMEOUT: "45",
      FREEROUTER_KEEPALIVE_TIMEOUT: "120",
      FREEROUTER_KV_PATH: "/tmp/freerouter.sqlite",
      DENO_KV_ACCESS_TOKEN: "kv-token-0123456789",
      FREEROUTER_API_KEY: ACCESS_SECRET,
      FREEROUTER_RPM: "0",
      FREEROUTER_MAX_WAIT: "2.5",
      FREEROUTER_STRATEGY: "adaptive",
      FREEROUTER_STREAM_RESUME: "off",
      FREEROUTER_SAME_MODEL_WAIT: "0",
      FREEROUTER_AFFINITY: "off",
      FREEROUTER_ALIASES: "small=meta-llama/*,google/gemma-4-31b-it:free",
      FREEROUTER_MAX_BODY_BYTES: "2048",
      FREEROUTER_CLIENT_KEYS: "/etc/freerouter/clients.json",
      FREEROUTER_CACHE_TTL: "300",
      FREEROUTER_CACHE_MAX_BYTES: "4096",
      FREEROUTER_CORS_ORIGINS: "https://a.example, https://b.example",
      FREEROUTER_ALLOW_OPEN: "1",
      LOG_FORMAT: "json",
      LOG_LEVEL: "warn",
    }),
    {
      openrouterApiKey: OPENROUTER_SECRET,
      baseUrl: "http://127.0.0.1:9999/api/v1",
      host: "0.0.0.0",
      port: 9000,
      modelRefreshTtl: 300,
      maxAttempts: 3,
      cooldownSeconds: 1.5,
      requestTimeout: 30,
      streamIdleTimeout: 45,
      keepAliveTimeout: 120,
      kvPath: "/tmp/freerouter.sqlite",
      kvAccessToken: "kv-token-0123456789",
      accessKey: ACCESS_SECRET,
      rpm: 0,
      maxWait: 2.5,
      strategy: "adaptive",
      streamResume: false,
      sameModelWait: 0,
      affinity: false,
      aliases: { small: ["meta-llama/*", "google/gemma-4-31b-it:free"] },
      maxBodyBytes: 2048,
      clientKeysPath: "/etc/freerouter/clients.json",
      cacheTtl: 300,
      cacheMaxBytes: 4096,
      corsOrigins: ["https://a.example", "https://b.example"],
      allowOpen: true,
      logFormat: "json",
      logLevel: "warn",
    },
  );
});

Deno.test("parseServerConfig() treats empty and blank strings as unset", () => {
  const keys = [
    "OPENROUTER_API_KEY",
    "OPENROUTER_BASE_URL",
    "HOST",
    "PORT",
    "MODEL_REFRESH_TTL",
    "MAX_ATTEMPTS",
    "COOLDOWN_SECONDS",
    "REQUEST_TIMEOUT",
    "FREEROUTER_STREAM_IDLE_TIMEOUT",
    "FREEROUTER_KEEPALIVE_TIMEOUT",
    "FREEROUTER_KV_PATH",
    "FREEROUTER_API_KEY",
    "FREEROUTER_RPM",
    "FREEROUTER_MAX_WAIT",
    "FREEROUTER_STRATEGY",
    "FREEROUTER_STREAM_RESUME",
  ];
  for (const blank of ["", "   ", "\t"]) {
    const env = Object.fromEntries(keys.map((k) => [k, blank]));
    assert.deepEqual(parseServerConfig(env), DEFAULTS, JSON.stringify(blank));
  }
});

Deno.test("parseServerConfig() trims secrets", () => {
  const config = parseServerConfig({
    OPENROUTER_API_KEY: `  ${OPENROUTER_SECRET}  `,
    FREEROUTER_API_KEY: `\t${ACCESS_SECRET}\n`,
  });
  assert.equal(config.openrouterApiKey, OPENROUTER_SECRET);
  assert.equal(config.accessKey, ACCESS_SECRET);
});

Deno.test("parseServerConfig() ignores unrelated variables", () => {
  assert.deepEqual(
    parseServerConfig({ PATH: "/usr/bin", HOME: "/root", DEBUG: "abc" }),
    DEFAULTS,
  );
});

Deno.test("parseServerConfig() rejects MAX_ATTEMPTS=abc with one line naming the key", () => {
  assert.equal(
    configError({ MAX_ATTEMPTS: "abc" }, "MAX_ATTEMPTS"),
    'Invalid configuration: MAX_ATTEMPTS must be a whole number (got "abc")',
  );
});

Deno.test("parseServerConfig() rejects PORT=70000 with one line naming the key", () => {
  assert.equal(
    configError({ PORT: "70000" }, "PORT"),
    'Invalid configuration: PORT must be between 0 and 65535 (got "70000")',
  );
});

Deno.test("parseServerConfig() keeps the message on one line when the bad value holds a line break", () => {
  configError({ PORT: "80\n80" }, "PORT");
  configError({ MAX_ATTEMPTS: "3\r\n4" }, "MAX_ATTEMPTS");
  configError({ OPENROUTER_BASE_URL: "ftp://a\nb" }, "OPENROUTER_BASE_URL");
});

Deno.test("parseServerConfig() rejects a HOST nothing can listen on, naming the key", () => {
  for (const host of ["bad host", "999.1.1.1", "localhost:8000", "http://x"]) {
    assert.match(
      configError({ HOST: host, FREEROUTER_API_KEY: ACCESS_SECRET }, "HOST"),
      /must be a host name or an IP address/,
    );
  }
  for (const host of ["0.0.0.0", "::", "::1", "[::1]", "localhost", "fr.lan"]) {
    assert.equal(parseServerConfig({ HOST: host }).host, host);
  }
});

Deno.test("parseServerConfig() rejects a FREEROUTER_API_KEY shorter than 8 characters or with spaces, never echoing it", () => {
  for (const key of ["short", "has space in it", 'quo"ted-key-1']) {
    const message = configError(
      { FREEROUTER_API_KEY: key },
      "FREEROUTER_API_KEY",
    );
    assert.match(message, /at least 8 printable ASCII characters/);
    assert.ok(!message.includes(key), message);
  }
});

Deno.test("parseServerConfig() rejects out-of-range and non-numeric values, naming the key", () => {
  const cases: Array<[string, string]> = [
    ["MAX_ATTEMPTS", "0"],
    ["MAX_ATTEMPTS", "101"],
    ["MAX_ATTEMPTS", "2.5"],
    ["MAX_ATTEMPTS", "Infinity"],
    ["PORT", "-1"],
    ["PORT", "80.5"],
    ["PORT", "http"],
    ["MODEL_REFRESH_TTL", "ten"],
    ["MODEL_REFRESH_TTL", "0"],
    ["COOLDOWN_SECONDS", "-3"],
    ["REQUEST_TIMEOUT", "86401"],
    ["FREEROUTER_STREAM_IDLE_TIMEOUT", "0"],
    ["FREEROUTER_RPM", "-1"],
    ["FREEROUTER_RPM", "2.5"],
    ["FREEROUTER_MAX_WAIT", "-1"],
    ["FREEROUTER_MAX_WAIT", "3601"],
    ["FREEROUTER_STRATEGY", "fastest"],
    ["FREEROUTER_STRATEGY", "Adaptive"],
  ];
  for (const [key, value] of cases) {
    const message = configError({ [key]: value }, key);
    assert.ok(
      message.endsWith(`(got ${JSON.stringify(value)})`),
      `${key}=${value}: ${message}`,
    );
  }
});

Deno.test("parseServerConfig() takes numbers in plain decimal only, not hex, exponents or Infinity", () => {
  assert.equal(
    configError({ PORT: "0x1F90" }, "PORT"),
    'Invalid configuration: PORT must be a port number (got "0x1F90")',
  );
  assert.equal(
    configError({ MAX_ATTEMPTS: "1e1" }, "MAX_ATTEMPTS"),
    'Invalid configuration: MAX_ATTEMPTS must be a whole number (got "1e1")',
  );
  for (
    const [key, value] of [
      ["REQUEST_TIMEOUT", "Infinity"],
      ["COOLDOWN_SECONDS", "1e2"],
      ["FREEROUTER_MAX_WAIT", "0b11"],
      ["FREEROUTER_MAX_BODY_BYTES", "0o7777"],
      ["FREEROUTER_RPM", "1_000"],
      ["MODEL_REFRESH_TTL", "."],
    ] as const
  ) {
    const message = configError({ [key]: value }, key);
    // The key's "what it wants" message, not a range message for a value
    // that was read as a number.
    assert.match(
      message,
      new RegExp(
        `^Invalid configuration: ${key} must be a (number of \\w+|whole number) \\(got`,
      ),
    );
  }
  const config = parseServerConfig({
    PORT: " 8080 ",
    MAX_ATTEMPTS: "+3",
    COOLDOWN_SECONDS: ".5",
    REQUEST_TIMEOUT: "2.",
    FREEROUTER_RPM: "07",
  });
  assert.equal(config.port, 8080);
  assert.equal(config.maxAttempts, 3);
  assert.equal(config.cooldownSeconds, 0.5);
  assert.equal(config.requestTimeout, 2);
  assert.equal(config.rpm, 7);
});

Deno.test("parseServerConfig() accepts the bounds of each range", () => {
  const low = parseServerConfig({
    PORT: "0",
    MAX_ATTEMPTS: "1",
    COOLDOWN_SECONDS: "0.001",
    FREEROUTER_MAX_WAIT: "0",
  });
  assert.deepEqual(
    [low.port, low.maxAttempts, low.cooldownSeconds, low.maxWait],
    [0, 1, 0.001, 0],
  );
  const high = parseServerConfig({
    PORT: "65535",
    MAX_ATTEMPTS: "100",
    REQUEST_TIMEOUT: "86400",
    FREEROUTER_MAX_WAIT: "3600",
  });
  assert.deepEqual(
    [high.port, high.maxAttempts, high.requestTimeout, high.maxWait],
    [65535, 100, 86400, 3600],
  );
});

Deno.test("parseServerConfig() rejects an unknown FREEROUTER_STRATEGY, naming the choices", () => {
  assert.equal(
    configError({ FREEROUTER_STRATEGY: "fastest" }, "FREEROUTER_STRATEGY"),
    'Invalid configuration: FREEROUTER_STRATEGY must be "quality", "priority" or "adaptive" (got "fastest")',
  );
});

Deno.test("parseServerConfig() takes FREEROUTER_CORS_ORIGINS as * or origins, and rejects what a browser never sends as an Origin", () => {
  assert.deepEqual(
    parseServerConfig({
      FREEROUTER_CORS_ORIGINS: "https://a.example, http://localhost:5173",
    }).corsOrigins,
    ["https://a.example", "http://localhost:5173"],
  );
  assert.deepEqual(
    parseServerConfig({ FREEROUTER_CORS_ORIGINS: "*" }).corsOrigins,
    ["*"],
  );
  // An extension's or an app's origin, as the browser sends it.
  assert.deepEqual(
    parseServerConfig({
      FREEROUTER_CORS_ORIGINS:
        "chrome-extension://abcdefghijklmnop, moz-extension://4b1f-9c, tauri://localhost",
    }).corsOrigins,
    [
      "chrome-extension://abcdefghijklmnop",
      "moz-extension://4b1f-9c",
      "tauri://localhost",
    ],
  );
  for (
    const bad of [
      "not a url",
      "https://a.example/",
      "https://a.example/app",
      "a.example",
      "chrome-extension://abc/popup.html",
      "null",
    ]
  ) {
    assert.match(
      configError({ FREEROUTER_CORS_ORIGINS: bad }, "FREEROUTER_CORS_ORIGINS"),
      /^Invalid configuration: FREEROUTER_CORS_ORIGINS must be "\*" or comma-separated origins/,
    );
  }
});

Deno.test("parseServerConfig() rejects a base URL that is not http(s)", () => {
  for (
    const url of [
      "ftp://openrouter.ai/api/v1",
      "file:///etc/passwd",
      "javascript:alert(1)",
      "openrouter.ai/api/v1",
      "not-a-url",
    ]
  ) {
    assert.equal(
      configError({ OPENROUTER_BASE_URL: url }, "OPENROUTER_BASE_URL"),
      `Invalid configuration: OPENROUTER_BASE_URL must be an http(s) URL (got ${
        JSON.stringify(url)
      })`,
    );
  }
});

Deno.test("parseServerConfig() strips trailing slashes from the base URL", () => {
  assert.equal(
    parseServerConfig({ OPENROUTER_BASE_URL: "http://127.0.0.1:9999/api/v1/" })
      .baseUrl,
    "http://127.0.0.1:9999/api/v1",
  );
  assert.equal(
    parseServerConfig({ OPENROUTER_BASE_URL: "https://openrouter.ai/api/v1//" })
      .baseUrl,
    "https://openrouter.ai/api/v1",
  );
});

Deno.test("parseServerConfig() never puts a secret in an error message", () => {
  const bad: Array<[string, string]> = [
    ["PORT", "70000"],
    ["MAX_ATTEMPTS", "abc"],
    ["OPENROUTER_BASE_URL", "ftp://example.com"],
    ["COOLDOWN_SECONDS", "-1"],
  ];
  for (const [key, value] of bad) {
    const env = {
      OPENROUTER_API_KEY: OPENROUTER_SECRET,
      FREEROUTER_API_KEY: ACCESS_SECRET,
      [key]: value,
    };
    const message = configError(env, key);
    assert.equal(message.includes(OPENROUTER_SECRET), false, message);
    assert.equal(message.includes(ACCESS_SECRET), false, message);
  }
});

Deno.test("parseServerConfig() shows no secret that stands in another setting's value: a .env line holding two settings, a key pasted into the wrong one", () => {
  const bad: Array<[string, string]> = [
    ["LOG_LEVEL", `info OPENROUTER_API_KEY=${OPENROUTER_SECRET}`],
    ["MAX_ATTEMPTS", `8 FREEROUTER_API_KEY=${ACCESS_SECRET}`],
    ["HOST", `0.0.0.0 DENO_KV_ACCESS_TOKEN=${ACCESS_SECRET}`],
    ["FREEROUTER_CORS_ORIGINS", `https://app.example,${ACCESS_SECRET}`],
    ["PORT", OPENROUTER_SECRET],
    [
      "OPENROUTER_BASE_URL",
      `https://openrouter.ai/api/v1 OPENROUTER_API_KEY=${OPENROUTER_SECRET}`,
    ],
    // A URL with credentials is written again with the space as %20.
    [
      "OPENROUTER_BASE_URL",
      `https://gw:pw@openrouter.ai/api/v1 FREEROUTER_API_KEY=${ACCESS_SECRET}`,
    ],
    ["LOG_LEVEL", `info FREEROUTER_API_KEY= ${ACCESS_SECRET}`],
    ["LOG_LEVEL", `info FREEROUTER_API_KEY="a ${ACCESS_SECRET}"`],
  ];
  for (const [key, value] of bad) {
    const env = { FREEROUTER_API_KEY: ACCESS_SECRET, [key]: value };
    const message = configError(env, key);
    assert.equal(message.includes(OPENROUTER_SECRET), false, message);
    assert.equal(message.includes(ACCESS_SECRET), false, message);
    assert.match(message, /\(got "/, "the value is still shown, without them");
  }
  // A value is shown up to its first space.
  assert.equal(
    configError({ OPENROUTER_BASE_URL: "not a url" }, "OPENROUTER_BASE_URL"),
    'Invalid configuration: OPENROUTER_BASE_URL must be an http(s) URL (got "not …")',
  );
  assert.match(
    configError(
      { OPENROUTER_BASE_URL: "https://openrouter.ai/api/v1 x" },
      "OPENROUTER_BASE_URL",
    ),
    /must not contain spaces/,
  );
});

Deno.test("parseServerConfig() refuses an OpenRouter key holding a quote or a backtick, without showing it", () => {
  for (
    const key of [
      `"${OPENROUTER_SECRET}`,
      `'${OPENROUTER_SECRET}`,
      `${OPENROUTER_SECRET}"`,
      `\`${OPENROUTER_SECRET}\``,
      `${OPENROUTER_SECRET.slice(0, 12)}'${OPENROUTER_SECRET.slice(12)}`,
    ]
  ) {
    const message = configError(
      { OPENROUTER_API_KEY: key },
      "OPENROUTER_API_KEY",
    );
    assert.equal(
      message,
      "Invalid configuration: OPENROUTER_API_KEY must be printable ASCII without spaces, quotes or line breaks (look for a stray quote or \\n in .env)",
    );
    assert.equal(message.includes(OPENROUTER_SECRET.slice(0, 12)), false);
  }
});

Deno.test("parseDotenv() reads KEY=value lines, export prefixes and spaces around =", () => {
  assert.deepEqual(
    parseDotenv(
      "PORT=9000\nexport HOST=0.0.0.0\nMAX_ATTEMPTS = 3\n  COOLDOWN_SECONDS=  30  \nEMPTY=\n",
    ),
    {
      PORT: "9000",
      HOST: "0.0.0.0",
      MAX_ATTEMPTS: "3",
      COOLDOWN_SECONDS: "30",
      EMPTY: "",
    },
  );
});

Deno.test("parseDotenv() skips comments, blank lines and malformed lines", () => {
  assert.deepEqual(
    parseDotenv(
      "# a comment\n\n   \n  # indented comment\nNO_EQUALS\n1BAD=x\n=value\nGOOD=yes\n",
    ),
    { GOOD: "yes" },
  );
});

Deno.test("parseDotenv() strips inline comments from unquoted values only", () => {
  assert.deepEqual(
    parseDotenv(
      [
        "A=abc # note",
        "B=abc#not-a-comment",
        'C="abc # kept"',
        "D='x' # note",
        'E="y" # note',
      ].join("\n"),
    ),
    { A: "abc", B: "abc#not-a-comment", C: "abc # kept", D: "x", E: "y" },
  );
});

Deno.test("parseDotenv() unquotes values and expands \\n in double quotes only", () => {
  assert.deepEqual(
    parseDotenv(
      [
        'DOUBLE="line1\\nline2"',
        "SINGLE='line1\\nline2'",
        'SPACES="  padded  "',
        'UNCLOSED="abc',
      ].join("\n"),
    ),
    {
      DOUBLE: "line1\nline2",
      SINGLE: "line1\\nline2",
      SPACES: "  padded  ",
      UNCLOSED: '"abc',
    },
  );
});

Deno.test("parseDotenv() accepts CRLF line ends", () => {
  assert.deepEqual(parseDotenv("PORT=9000\r\nHOST=localhost\r\n"), {
    PORT: "9000",
    HOST: "localhost",
  });
});

Deno.test("parseDotenv() keeps = signs inside values", () => {
  assert.deepEqual(
    parseDotenv("OPENROUTER_BASE_URL=http://localhost:9999/api/v1?a=b&c=d"),
    { OPENROUTER_BASE_URL: "http://localhost:9999/api/v1?a=b&c=d" },
  );
});

Deno.test("parseDotenv() lets a later line win", () => {
  assert.deepEqual(parseDotenv("PORT=1\nPORT=2\n"), { PORT: "2" });
});

/** Runs `fn` with a temp dir holding `.env` text, then restores `vars` and removes the dir. */
async function withDotenv(
  text: string | undefined,
  vars: Record<string, string | undefined>,
  fn: (dir: string) => void,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "freerouter_env_" });
  const saved = Object.fromEntries(
    Object.keys(vars).map((k) => [k, Deno.env.get(k)]),
  );
  try {
    if (text !== undefined) await Deno.writeTextFile(`${dir}/.env`, text);
    for (const [key, value] of Object.entries(vars)) {
      if (value === undefined) Deno.env.delete(key);
      else Deno.env.set(key, value);
    }
    fn(dir);
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) Deno.env.delete(key);
      else Deno.env.set(key, value);
    }
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("readDotenv() reads .env from the given directory", async () => {
  await withDotenv(
    "FREEROUTER_TEST_A=1\n# c\nFREEROUTER_TEST_B='two'\n",
    {},
    (dir) => {
      assert.deepEqual(readDotenv(dir), {
        FREEROUTER_TEST_A: "1",
        FREEROUTER_TEST_B: "two",
      });
    },
  );
});

Deno.test("readDotenv() returns {} when the directory has no .env", async () => {
  await withDotenv(undefined, {}, (dir) => {
    assert.deepEqual(readDotenv(dir), {});
  });
});

Deno.test("loadEnv() fills in from .env what the environment leaves unset; the environment wins", async () => {
  await withDotenv(
    "FREEROUTER_TEST_BOTH=from-file\nFREEROUTER_TEST_FILE_ONLY=from-file\n",
    {
      FREEROUTER_TEST_BOTH: "from-env",
      FREEROUTER_TEST_FILE_ONLY: undefined,
      FREEROUTER_TEST_ENV_ONLY: "from-env",
    },
    (dir) => {
      const env = loadEnv(dir);
      assert.equal(env.FREEROUTER_TEST_BOTH, "from-env");
      assert.equal(env.FREEROUTER_TEST_FILE_ONLY, "from-file");
      assert.equal(env.FREEROUTER_TEST_ENV_ONLY, "from-env");
    },
  );
});

Deno.test("loadEnv() without a .env returns the environment", async () => {
  await withDotenv(
    undefined,
    { FREEROUTER_TEST_ENV_ONLY: "from-env" },
    (dir) => {
      const env = loadEnv(dir);
      assert.equal(env.FREEROUTER_TEST_ENV_ONLY, "from-env");
      assert.equal(env.FREEROUTER_TEST_FILE_ONLY, undefined);
    },
  );
});

Deno.test("parseServerConfig() reads loadEnv(): .env values apply unless the environment sets the key", async () => {
  await withDotenv(
    "PORT=9100\nMAX_ATTEMPTS=3\nOPENROUTER_API_KEY=sk-or-v1-from-file\n",
    {
      PORT: undefined,
      MAX_ATTEMPTS: "5",
      OPENROUTER_API_KEY: undefined,
    },
    (dir) => {
      const config = parseServerConfig(loadEnv(dir));
      assert.equal(config.port, 9100);
      assert.equal(config.maxAttempts, 5);
      assert.equal(config.openrouterApiKey, "sk-or-v1-from-file");
    },
  );
});

Deno.test("loadEnv() lets .env fill in a variable the environment sets empty", async () => {
  await withDotenv(
    "FREEROUTER_TEST_EMPTY=from-file\n",
    { FREEROUTER_TEST_EMPTY: "" },
    (dir) => {
      assert.equal(loadEnv(dir).FREEROUTER_TEST_EMPTY, "from-file");
    },
  );
});

Deno.test("parseServerConfig() reads loadEnv(): an unclosed quote in .env leaves a quote in the OpenRouter key, which is refused", async () => {
  await withDotenv(
    `OPENROUTER_API_KEY="${OPENROUTER_SECRET}\n`,
    { OPENROUTER_API_KEY: undefined },
    (dir) => {
      const env = loadEnv(dir);
      assert.equal(env.OPENROUTER_API_KEY, `"${OPENROUTER_SECRET}`);
      const message = configError(env, "OPENROUTER_API_KEY");
      assert.equal(message.includes(OPENROUTER_SECRET), false, message);
    },
  );
});
