/**
 * A run's setup: the freerouter under test (the work tree, a commit's tree or
 * another copy of the project) and the servers: the mock upstream, the Deno
 * pass-through, the minimal validating proxy and freerouter, started as
 * `deno task start` starts it.
 *
 * @module
 */
import { BENCH_DIR, type Options, REPO } from "./options.ts";
import {
  baseEnv,
  freePort,
  memory,
  run,
  type Server,
  sleep,
  startServer,
  startTask,
} from "./processes.ts";
import type { Memory, Target } from "./samples.ts";

/** The freerouter under test: its root, and how the report names it. */
export interface UnderTest {
  root: string;
  /** The short commit (`+ uncommitted src changes` when dirty), or `tree DIR`. */
  commit: string;
}

/** The work tree, `--tree DIR`, or the tree of `--ref REF` extracted into `tmp`. */
export async function underTest(o: Options, tmp: string): Promise<UnderTest> {
  let root = o.tree ?? REPO;
  if (!o.tree && o.ref) {
    root = `${tmp}/tree`;
    await Deno.mkdir(root);
    const tar = `${tmp}/tree.tar`;
    await run("git", ["-C", REPO, "archive", "-o", tar, o.ref]);
    await run("tar", ["-xf", tar, "-C", root]);
  }
  const commit = o.tree ? `tree ${o.tree}` : (await run("git", [
    "-C",
    REPO,
    "rev-parse",
    "--short",
    o.ref ?? "HEAD",
  ])).trim();
  const dirty = o.ref || o.tree ? false : (await run("git", [
    "-C",
    REPO,
    "status",
    "--porcelain",
    "--",
    "src",
    "deno.json",
  ])).trim() !== "";
  return {
    root,
    commit: commit + (dirty ? " + uncommitted src changes" : ""),
  };
}

/** The servers of a run, started and ready. */
export interface Servers {
  /** The mock upstream (the floor). */
  mock: Server;
  /** The mock's origin, `http://127.0.0.1:<port>`. */
  mockOrigin: string;
  /** floor, passthrough and freerouter, in that order. */
  targets: Target[];
  validating: Target<"validating">;
  /** The flags freerouter ran with (those of `deno task start`). */
  flags: string[];
  /** Where `--profile` has freerouter write its CPU profile. */
  profileDir: string;
  /** The free pool's size, as freerouter's GET /v1/models lists it. */
  poolSize: number;
  /** RSS of the mock, the pass-through and freerouter, a second after start. */
  idle: Memory;
}

/**
 * Starts the mock, the pass-through, the validating proxy and freerouter (from
 * `root`), pushing each onto `servers` as it starts so the caller can stop
 * them whatever happens.
 */
export async function startServers(
  o: Options,
  root: string,
  tmp: string,
  servers: Server[],
): Promise<Servers> {
  const env = baseEnv();
  /** A script of bench/ that prints `{"port": n}` once listening. */
  const startScript = async (
    name: string,
    script: string,
    scriptEnv: Record<string, string>,
  ) => {
    const started = await startServer(
      name,
      o.pin,
      ["run", "--allow-net", "--allow-env", `${BENCH_DIR}${script}`],
      { ...env, ...scriptEnv },
      /^\{"port":(\d+)\}/,
      `${tmp}/${name}.log`,
    );
    servers.push(started.server);
    return started;
  };
  const mock = await startScript("mock", "mock.ts", {
    MOCK_CHUNKS: "20",
    MOCK_RATE_LIMITED: "5",
  });
  const mockOrigin = `http://127.0.0.1:${mock.match[1]}`;
  const upstream = `${mockOrigin}/api/v1`;
  const pt = await startScript("passthrough", "passthrough.ts", {
    UPSTREAM: upstream,
  });
  const vp = await startScript("validating", "validating_proxy.ts", {
    UPSTREAM: upstream,
  });
  const validating: Target<"validating"> = {
    name: "validating",
    url: `http://127.0.0.1:${vp.match[1]}/v1/chat/completions`,
    pid: vp.server.pid,
  };
  const frPort = freePort();
  const profileDir = `${tmp}/profile`;
  const start = await startTask(root);
  const entry = /^(\/|[a-z]+:)/.test(start.entry)
    ? start.entry
    : `${root}/${start.entry}`;
  const frArgs = [
    "run",
    ...(o.profile ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : []),
    "--config",
    `${root}/deno.json`,
    ...start.flags,
    entry,
    ...start.args,
  ];
  const fr = await startServer(
    "freerouter",
    o.pin,
    frArgs,
    {
      ...env,
      OPENROUTER_API_KEY: "sk-or-v1-bench",
      OPENROUTER_BASE_URL: upstream,
      HOST: "127.0.0.1",
      PORT: String(frPort),
      FREEROUTER_KV_PATH: `${tmp}/kv/kv.sqlite`,
      // Benchmark the proxy, not the account limiter: with its default of
      // 20 attempts a minute it would queue or refuse nearly every request.
      FREEROUTER_RPM: "0",
      ...o.env,
    },
    // Ready once GET /v1/models lists the free pool (whatever LOG_LEVEL).
    async () => {
      const res = await fetch(`http://127.0.0.1:${frPort}/v1/models`);
      const body = await res.json() as { data?: unknown[] };
      return res.ok && body.data?.length ? String(body.data.length) : undefined;
    },
    `${tmp}/freerouter.log`,
    tmp,
  );
  servers.push(fr.server);
  const poolSize = Number(fr.match[0]);
  await sleep(1000);
  const idle: Memory = {
    floor: memory(mock.server.pid).rss,
    passthrough: memory(pt.server.pid).rss,
    freerouter: memory(fr.server.pid).rss,
  };
  const targets: Target[] = [
    {
      name: "floor",
      url: `${upstream}/chat/completions`,
      pid: mock.server.pid,
    },
    {
      name: "passthrough",
      url: `http://127.0.0.1:${pt.match[1]}/v1/chat/completions`,
      pid: pt.server.pid,
    },
    {
      name: "freerouter",
      url: `http://127.0.0.1:${frPort}/v1/chat/completions`,
      pid: fr.server.pid,
    },
  ];
  return {
    mock: mock.server,
    mockOrigin,
    targets,
    validating,
    flags: start.flags,
    profileDir,
    poolSize,
    idle,
  };
}
