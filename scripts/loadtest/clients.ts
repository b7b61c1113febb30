/**
 * The load's clients: concurrent loops of chat requests to freerouter, half
 * streaming and a tenth of those aborting after the first chunk, each judged
 * as a success, an OpenAI-shaped error, unanswered or malformed.
 *
 * @module
 */

import { CLIENT_TIMEOUT_MS, P_ABORT_STREAM, P_STREAM } from "./settings.ts";

/** What the clients saw. */
export interface ClientStats {
  total: number;
  ok: number;
  okStream: number;
  /** OpenAI-shaped error answers by status (streams: `200 error event`). */
  errors: Map<string, number>;
  aborted: number;
  /** Not answered within CLIENT_TIMEOUT_MS. */
  unanswered: number;
  /** Network errors, malformed answers, truncated streams. */
  bad: number;
  badSamples: string[];
  headerLatency: number[];
  totalLatency: number[];
  /** `X-FreeRouter-Attempts` seen, max. */
  maxAttemptsHeader: number;
}

/** Figures with nothing counted yet. */
export function newStats(): ClientStats {
  return {
    total: 0,
    ok: 0,
    okStream: 0,
    errors: new Map(),
    aborted: 0,
    unanswered: 0,
    bad: 0,
    badSamples: [],
    headerLatency: [],
    totalLatency: [],
    maxAttemptsHeader: 0,
  };
}

function isOpenAIError(text: string): boolean {
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } };
    return typeof body.error?.message === "string";
  } catch {
    return false;
  }
}

function bad(stats: ClientStats, what: string): void {
  stats.bad++;
  if (stats.badSamples.length < 10) stats.badSamples.push(what);
}

async function oneRequest(
  url: string,
  marker: string,
  stats: ClientStats,
  client: Deno.HttpClient,
): Promise<void> {
  const stream = Math.random() < P_STREAM;
  const abortMidStream = stream && Math.random() < P_ABORT_STREAM;
  const controller = new AbortController();
  let timedOut = false;
  let abortedOnPurpose = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, CLIENT_TIMEOUT_MS);
  const started = performance.now();
  stats.total++;
  try {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "auto",
        stream,
        messages: [{ role: "user", content: marker }],
      }),
      signal: controller.signal,
      client,
    });
    stats.headerLatency.push(performance.now() - started);
    stats.maxAttemptsHeader = Math.max(
      stats.maxAttemptsHeader,
      Number(res.headers.get("x-freerouter-attempts") ?? 0),
    );
    if (res.status === 200 && stream) {
      const reader = res.body!.getReader();
      if (abortMidStream) {
        await reader.read();
        abortedOnPurpose = true;
        controller.abort();
        await reader.cancel().catch(() => {});
        stats.aborted++;
        return;
      }
      let text = "";
      const decoder = new TextDecoder();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
      stats.totalLatency.push(performance.now() - started);
      if (text.endsWith("data: [DONE]\n\n")) {
        stats.ok++;
        stats.okStream++;
      } else if (/^data: \{"error":\{/m.test(text)) {
        stats.errors.set(
          "200 error event",
          (stats.errors.get("200 error event") ?? 0) + 1,
        );
      } else bad(stats, `truncated stream: ${text.slice(-120)}`);
      return;
    }
    const text = await res.text();
    stats.totalLatency.push(performance.now() - started);
    if (res.status === 200) {
      let body: { choices?: unknown[] } = {};
      try {
        body = JSON.parse(text);
      } catch { /* judged below */ }
      if (Array.isArray(body.choices) && body.choices.length > 0) stats.ok++;
      else bad(stats, `200 without choices: ${text.slice(0, 120)}`);
    } else if (isOpenAIError(text)) {
      const key = String(res.status);
      stats.errors.set(key, (stats.errors.get(key) ?? 0) + 1);
    } else bad(stats, `${res.status} not OpenAI-shaped: ${text.slice(0, 120)}`);
  } catch (err) {
    if (abortedOnPurpose) return;
    if (timedOut) stats.unanswered++;
    else bad(stats, `network: ${err instanceof Error ? err.message : err}`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs `clients` concurrent loops of requests to freerouter at `url` for `ms`
 * milliseconds, counting into `stats`; each request's marker starts with
 * `prefix`.
 */
export async function drive(
  url: string,
  clients: number,
  ms: number,
  stats: ClientStats,
  prefix: string,
): Promise<void> {
  const until = performance.now() + ms;
  // The load's own connection pool: closed when the load ends, so the
  // clients are gone afterwards (keep-alive connections would otherwise stay
  // open, and the proxy would rightly keep their buffers).
  const client = Deno.createHttpClient({});
  try {
    await Promise.all(
      Array.from({ length: clients }, async (_, id) => {
        for (let seq = 0; performance.now() < until; seq++) {
          await oneRequest(url, `${prefix}-${id}-${seq}`, stats, client);
        }
      }),
    );
  } finally {
    client.close();
  }
}

/** Adds the figures of `from` to `into`. */
export function merge(into: ClientStats, from: ClientStats): void {
  into.total += from.total;
  into.ok += from.ok;
  into.okStream += from.okStream;
  for (const [k, v] of from.errors) {
    into.errors.set(k, (into.errors.get(k) ?? 0) + v);
  }
  into.aborted += from.aborted;
  into.unanswered += from.unanswered;
  into.bad += from.bad;
  into.badSamples.push(...from.badSamples);
  into.badSamples.length = Math.min(into.badSamples.length, 10);
  for (const v of from.headerLatency) into.headerLatency.push(v);
  for (const v of from.totalLatency) into.totalLatency.push(v);
  into.maxAttemptsHeader = Math.max(
    into.maxAttemptsHeader,
    from.maxAttemptsHeader,
  );
}
