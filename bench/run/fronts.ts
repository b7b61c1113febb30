/**
 * The agent fronts under load (issues 22 and 23): freerouter's
 * `/v1/messages` (Anthropic Messages) and `/v1/responses` (OpenAI Responses)
 * next to its `/v1/chat/completions`, streaming, against the same mock
 * upstream (the fronts translate in-process into chat completions). In every
 * round, after the other phases: sequential streams (time to first and last
 * byte), then c=32 streaming throughput with wrk, the fronts in an order that
 * rotates each round. The report's section also shows the translation
 * micro-benchmarks (bench/hot_path_bench.ts) against the issues' target.
 *
 * @module
 */
import { chatBody } from "../client.ts";
import { median, medianDifference, medianRatio } from "../stats.ts";
import { wrkScript } from "./load.ts";
import type { MicroResult } from "./micro.ts";
import type { Bench } from "./phases.ts";
import { cpuMs } from "./processes.ts";
import {
  check,
  record,
  type Samples,
  type Target,
  WARM_SECONDS,
} from "./samples.ts";

/** One front of freerouter under load, with its request body. */
export interface FrontLoad {
  /** The path, `/v1/messages`; metric names start with it. */
  path: string;
  url: string;
  /** The streaming request body, and the files the load generators read. */
  body: string;
  bodyFile: string;
  script: string;
}

/** The paths measured, the chat completions row first. */
const PATHS = ["/v1/chat/completions", "/v1/messages", "/v1/responses"];

/** The streaming bodies: chat's usual one, and the issues' small ones. */
function bodyOf(path: string): string {
  if (path === "/v1/messages") {
    return JSON.stringify({
      model: "auto",
      max_tokens: 256,
      stream: true,
      messages: [{ role: "user", content: "hi" }],
    });
  }
  if (path === "/v1/responses") {
    return JSON.stringify({ model: "auto", stream: true, input: "hi" });
  }
  return chatBody({ stream: true });
}

/**
 * The fronts of the freerouter at `chatUrl` (its `/v1/chat/completions`),
 * their bodies and wrk scripts written into `tmp`.
 */
export async function frontLoads(
  chatUrl: string,
  tmp: string,
): Promise<FrontLoad[]> {
  const origin = new URL(chatUrl).origin;
  return await Promise.all(PATHS.map(async (path) => {
    const name = path.replace(/^\/v1\//, "").replaceAll("/", "_");
    const body = bodyOf(path);
    const bodyFile = `${tmp}/front_${name}.json`;
    const script = `${tmp}/front_${name}.lua`;
    await Deno.writeTextFile(bodyFile, body);
    await Deno.writeTextFile(script, wrkScript(body));
    return { path, url: `${origin}${path}`, body, bodyFile, script };
  }));
}

function freerouter(bench: Bench): Target {
  return bench.servers.targets.find((t) => t.name === "freerouter")!;
}

/** Streams and c=32 load through each front before the rounds. */
export async function warmFronts(bench: Bench): Promise<void> {
  const { o, load, fronts } = bench;
  for (const f of fronts) {
    await load.client(["stream", f.url, "100", f.bodyFile]);
    await load.wrk(f.url, 32, o.quick ? 1 : 2, f.script);
  }
}

/** One round of the fronts' phases; values recorded for freerouter. */
export async function frontRound(
  bench: Bench,
  round: number,
  samples: Samples,
): Promise<void> {
  const { o, load, fronts, failures } = bench;
  const fr = freerouter(bench);
  const order = fronts.map((_, i) => fronts[(i + round) % fronts.length]!);
  for (const f of order) {
    const st = await load.client([
      "stream",
      f.url,
      o.quick ? "100" : "300",
      f.bodyFile,
    ]);
    check(
      failures,
      fr,
      `${f.path} stream round ${round + 1}`,
      st.errors,
      st.stalls,
    );
    record(samples, `${f.path} stream TTFB p50`, fr.name, st.ttfb_p50_ms);
    record(samples, `${f.path} stream TTFB p99`, fr.name, st.ttfb_p99_ms);
    record(samples, `${f.path} stream TTLB p50`, fr.name, st.ttlb_p50_ms);
  }
  for (const f of order) {
    // Unmeasured first, as in the throughput phase: the front sat idle.
    const warm = await load.wrk(f.url, 32, WARM_SECONDS, f.script);
    check(
      failures,
      fr,
      `${f.path} stream c=32 warm-up round ${round + 1}`,
      warm.errors + warm.non2xx,
    );
    const cpu0 = cpuMs(fr.pid);
    const c = await load.wrk(f.url, 32, o.seconds, f.script);
    const used = cpuMs(fr.pid) - cpu0;
    check(
      failures,
      fr,
      `${f.path} stream c=32 round ${round + 1}`,
      c.errors + c.non2xx,
    );
    record(
      samples,
      `${f.path} stream throughput (c=32)`,
      fr.name,
      c.requests / (c.duration_us / 1e6),
    );
    record(
      samples,
      `${f.path} CPU per stream at c=32`,
      fr.name,
      1000 * used / c.requests,
    );
    record(samples, `${f.path} stream c=32 p50`, fr.name, c.p50_us / 1000);
  }
}

/** The translation target of issues 22 and 23, per request, in µs. */
const TRANSLATION_LIMIT_US = 200;

const fixed = (v: number, digits = 2) =>
  Number.isFinite(v) ? v.toFixed(digits) : "—";
const whole = (v: number) =>
  Number.isFinite(v) ? Math.round(v).toLocaleString("en-US") : "—";
const signed = (v: number, text: string) =>
  Number.isFinite(v) ? `${v >= 0 ? "+" : ""}${text}` : "—";

/** The report's section: the fronts under load, and the translation costs. */
export function frontsSection(
  samples: Samples,
  micro: readonly MicroResult[],
  fronts: readonly FrontLoad[],
): string[] {
  const series = (metric: string) => samples.get(metric)?.freerouter ?? [];
  const med = (path: string, metric: string) =>
    median(series(`${path} ${metric}`));
  const chat = PATHS[0]!;
  const vsChat = (path: string, metric: string) =>
    medianDifference(series(`${path} ${metric}`), series(`${chat} ${metric}`));
  const tputShare = (path: string) =>
    medianRatio(
      series(`${path} stream throughput (c=32)`),
      series(`${chat} stream throughput (c=32)`),
    );
  const lines = [
    "",
    "## Agent fronts: /v1/messages and /v1/responses (freerouter, streaming)",
    "",
    `Each front's request is translated in-process into a chat completion for the same mock upstream, and the answer (the usual 24-event stream) into the front's events. Bodies: ${
      fronts.map((f) => `${f.path} \`${f.body}\``).join("; ")
    }. Measured in every round after the other phases, the fronts in an order that rotates each round: sequential streams (time to first and last byte), then c=32 streaming throughput with wrk after ${WARM_SECONDS} s of the same load unmeasured; CPU per stream is freerouter's. The comparisons with chat completions are medians of the per-round differences and ratios.`,
    "",
    "| front | stream TTFB p50 (ms) | TTFB p99 (ms) | TTLB p50 (ms) | stream throughput c=32 (req/s) | c=32 p50 (ms) | CPU per stream (µs) | TTFB p50 vs chat | throughput vs chat |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const path of PATHS) {
    const ttfb = vsChat(path, "stream TTFB p50");
    lines.push(
      `| ${path} | ${fixed(med(path, "stream TTFB p50"), 3)} | ${
        fixed(med(path, "stream TTFB p99"))
      } | ${fixed(med(path, "stream TTLB p50"), 3)} | ${
        whole(med(path, "stream throughput (c=32)"))
      } | ${fixed(med(path, "stream c=32 p50"))} | ${
        whole(med(path, "CPU per stream at c=32"))
      } | ${path === chat ? "" : signed(ttfb, `${fixed(ttfb, 3)} ms`)} | ${
        path === chat ? "" : `${fixed(tputShare(path) * 100, 0)} %`
      } |`,
    );
  }
  const bench = (name: string) => micro.find((m) => m.name.startsWith(name));
  const us = (ns: number | undefined) =>
    ns === undefined ? "—" : `${fixed(ns / 1000)} µs`;
  lines.push(
    "",
    `Translation cost (bench/hot_path_bench.ts, \`deno bench\`): a Claude-Code-like Messages request (system blocks, 30 messages with tool_use/tool_result, 12 tools, ~54 KB) and a Codex-like Responses request (a 17 KB developer message, function, custom, hosted and namespace tools, ~47 KB) validated and translated into a chat request, plus a 200-chunk answer (role, reasoning, text, one streamed tool call, finish, usage) translated back from its chunks as the stream guard parsed them; the JSON.parse of the body and of the chunks is left out (the chat route pays both too: the guard parses every chunk, and hands its parsed chunks to the fronts). Deno's bench reports no p50: p75 is shown, an upper bound of it (and steadier than the average when other processes interrupt a sample). Target (issues 22 and 23): under ${
      TRANSLATION_LIMIT_US / 1000
    } ms p50 per request.`,
    "",
    "| front | request, p75 | answer, p75 per stream | per chunk | request + answer: avg | p75 (≥ p50) | met |",
    "| --- | ---: | ---: | ---: | ---: | ---: | :---: |",
  );
  for (const front of ["Messages", "Responses"]) {
    const request = bench(`${front} request: parse`);
    const answer = bench(`${front} answer: ${front}Stream`);
    const total = bench(`${front} translation per request`);
    const p75 = total?.p75Ns;
    lines.push(
      `| ${front} | ${us(request?.p75Ns)} | ${us(answer?.p75Ns)} | ${
        us(answer && answer.p75Ns / 200)
      } | ${us(total?.avgNs)} | ${us(p75)} | ${
        p75 === undefined
          ? "—"
          : p75 / 1000 < TRANSLATION_LIMIT_US
          ? "yes"
          : "**no**"
      } |`,
    );
  }
  const parse = bench("200-chunk answer: JSON.parse");
  const plumbing = bench("200-event SSE body");
  const through = (front: string) =>
    us(bench(`${front} answer: translateStream`)?.p75Ns);
  const replayed = (front: string) =>
    us(bench(`${front} answer replayed from the cache: ${front}Stream`)?.p75Ns);
  lines.push(
    "",
    `An answer replayed from the response cache reaches a front as bytes, and is parsed again: the JSON.parse of its 200 chunks alone takes ${
      us(parse?.p75Ns)
    } (p75); a replayed answer costs Messages ${
      replayed("Messages")
    }, Responses ${
      replayed("Responses")
    }. Through \`translateStream\` itself (one more stream stage, encoding): Messages ${
      through("Messages")
    }, Responses ${through("Responses")} per answer, of which ${
      us(plumbing?.p75Ns)
    } is the stream plumbing alone (ReadableStream.from and reading).`,
  );
  return lines;
}
