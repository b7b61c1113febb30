/**
 * One request/response exchange of the fake OpenRouter: abort detection,
 * gates and delays that stop when the client leaves or the fake closes, and
 * the rendering of a scripted step as a `Response`.
 *
 * @module
 */
import type {
  HangStep,
  ResetStep,
  Step,
  StreamScript,
  StreamStep,
} from "./steps.ts";

const encoder = new TextEncoder();

/** Error used to break connections on purpose (kept out of the error log). */
export class FakeReset extends Error {
  constructor() {
    super("fake_openrouter: connection reset");
    this.name = "FakeReset";
  }
}

/** Bigger than the response head Deno's (hyper) fetch client accepts (~400 KiB). */
const RESET_HEAD_PADDING = "x".repeat(1 << 20);

/** A response the client's HTTP parser refuses: `fetch()` rejects. */
export function resetResponse(): Response {
  return new Response(
    new ReadableStream<Uint8Array>({
      start(c) {
        c.error(new FakeReset());
      },
    }),
    { headers: { "x-fake-openrouter-reset": RESET_HEAD_PADDING } },
  );
}

/** A step body as bytes (objects as JSON). */
function toBytes(body: unknown): Uint8Array<ArrayBuffer> | undefined {
  if (body === undefined) return undefined;
  if (body instanceof Uint8Array) return new Uint8Array(body);
  if (typeof body === "string") return encoder.encode(body);
  return encoder.encode(JSON.stringify(body));
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((k) => k.toLowerCase() === name);
}

/** Why an exchange stopped: the client went away, or the fake is closing. */
type StopReason = "client" | "close";

/** Per-request state: abort detection and cancellation. */
export class Exchange {
  finished = false;
  stopReason: StopReason | undefined;
  readonly stopped: Promise<void>;
  #resolveStopped!: () => void;
  #resolveAborted!: () => void;
  #aborted = false;
  readonly aborted: Promise<void>;
  #closing: AbortSignal;
  #onClosing = () => this.stop("close");

  constructor(closing: AbortSignal) {
    this.stopped = new Promise((r) => (this.#resolveStopped = r));
    this.aborted = new Promise((r) => (this.#resolveAborted = r));
    this.#closing = closing;
    if (closing.aborted) this.stop("close");
    else closing.addEventListener("abort", this.#onClosing, { once: true });
  }

  isAborted(): boolean {
    return this.#aborted;
  }

  /** The client went away before we finished. */
  clientGone(): void {
    if (this.finished || this.#aborted) return;
    this.#aborted = true;
    this.#resolveAborted();
    this.stop("client");
  }

  stop(reason: StopReason): void {
    if (this.stopReason !== undefined) return;
    this.stopReason = reason;
    this.#resolveStopped();
    this.#release();
  }

  finish(): void {
    this.finished = true;
    this.#release();
  }

  #release(): void {
    this.#closing.removeEventListener("abort", this.#onClosing);
  }

  /** Waits for `p` unless stopped first; returns whether `p` won. */
  async race(p: Promise<unknown>): Promise<boolean> {
    if (this.stopReason !== undefined) return false;
    const winner = await Promise.race([
      p.then(() => "done" as const),
      this.stopped.then(() => "stopped" as const),
    ]);
    return winner === "done" && this.stopReason === undefined;
  }

  /** Sleeps unless stopped first (the timer is cleared on stop). */
  async sleep(ms: number): Promise<boolean> {
    if (ms <= 0) return this.stopReason === undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const slept = new Promise<void>((r) => (timer = setTimeout(r, ms)));
    try {
      return await this.race(slept);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The answer to an exchange stopped before its response was sent. */
export function stoppedResponse(ex: Exchange): Response {
  ex.finish();
  // If the client is gone, nobody reads this; if the fake is closing, break
  // the connection so a still-waiting client sees a network error.
  return ex.stopReason === "close"
    ? resetResponse()
    : new Response(null, { status: 499 });
}

/** Renders one scripted step as the response to an exchange. */
export async function renderStep(
  step: Step,
  ex: Exchange,
): Promise<Response> {
  if (isHang(step)) {
    await ex.stopped;
    return stoppedResponse(ex);
  }
  if (isReset(step)) {
    ex.finish();
    return resetResponse();
  }
  if (isStream(step)) return renderStream(step.stream, ex);

  if (step.gate) {
    let passed = false;
    try {
      passed = await ex.race(callGate(step.gate));
    } catch {
      // A failing gate breaks the connection.
      ex.finish();
      return resetResponse();
    }
    if (!passed) return stoppedResponse(ex);
  }
  const headers: Record<string, string> = { ...step.headers };
  const bytes = toBytes(step.body);
  if (bytes !== undefined && !hasHeader(headers, "content-type")) {
    headers["content-type"] = "application/json";
  }
  const status = step.status ?? 200;
  const delay = step.delayMs ?? 0;
  if (step.leadingWhitespace === undefined) {
    if (!(await ex.sleep(delay))) return stoppedResponse(ex);
    ex.finish();
    return new Response(bytes ?? null, { status, headers });
  }
  const padding = encoder.encode(step.leadingWhitespace);
  const body = new ReadableStream<Uint8Array>({
    start: (controller) => {
      controller.enqueue(padding);
      (async () => {
        const slept = await ex.sleep(delay);
        if (!slept) {
          if (ex.stopReason === "close") {
            ex.finish();
            controller.error(new FakeReset());
          }
          return;
        }
        ex.finish();
        if (bytes !== undefined) controller.enqueue(bytes);
        controller.close();
      })().catch((e) => console.error("fake_openrouter: padded body", e));
    },
    cancel: () => ex.clientGone(),
  });
  return new Response(body, { status, headers });
}

/** Writes a stream step part by part, stopping when the exchange stops. */
function renderStream(script: StreamScript, ex: Exchange): Response {
  const headers: Record<string, string> = {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    ...script.headers,
  };
  /** Resolved when the server has taken every queued part (see `pull`). */
  let taken = Promise.withResolvers<void>();
  const pump = async (c: ReadableStreamDefaultController<Uint8Array>) => {
    const breakOff = () => {
      ex.finish();
      c.error(new FakeReset());
    };
    for (const part of script.parts) {
      if (ex.stopReason !== undefined) break;
      if (typeof part === "function") {
        let passed = false;
        try {
          passed = await ex.race(callGate(part));
        } catch {
          // A failing gate breaks the connection.
          if (ex.stopReason === undefined) return breakOff();
        }
        if (!passed) break;
      } else {
        c.enqueue(typeof part === "string" ? encoder.encode(part) : part);
      }
    }
    if (ex.stopReason === undefined) {
      const end = script.end ?? "close";
      if (end === "close") {
        ex.finish();
        c.close();
        return;
      }
      if (end === "reset") {
        // `error()` throws away parts still queued: the reset comes once
        // the server has taken them all, after the content a test sends
        // before it, as a connection that breaks mid-answer does.
        while ((c.desiredSize ?? 0) < 1 && ex.stopReason === undefined) {
          taken = Promise.withResolvers();
          await Promise.race([taken.promise, ex.stopped]);
        }
        return breakOff();
      }
      await ex.stopped;
    }
    if (ex.stopReason === "close") breakOff();
  };
  const body = new ReadableStream<Uint8Array>({
    start: (c) => {
      pump(c).catch((e) => console.error("fake_openrouter: stream pump", e));
    },
    pull: () => taken.resolve(),
    cancel: () => ex.clientGone(),
  });
  return new Response(body, { status: script.status ?? 200, headers });
}

/** Calls a gate; a gate that throws becomes a rejected promise. */
function callGate(gate: () => Promise<void>): Promise<void> {
  try {
    return Promise.resolve(gate());
  } catch (e) {
    return Promise.reject(e);
  }
}

function isHang(step: Step): step is HangStep {
  return (step as HangStep).hang === true;
}

function isReset(step: Step): step is ResetStep {
  return (step as ResetStep).reset === true;
}

function isStream(step: Step): step is StreamStep {
  return (step as StreamStep).stream !== undefined;
}
