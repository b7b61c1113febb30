/**
 * The fake OpenRouter's server: routes `/api/v1/chat/completions`,
 * `/api/v1/models` (and `/models/count`), `/api/v1/key` (and `/auth/key`)
 * and `/api/v1/credits` to scripted steps or default answers, and records
 * every request.
 *
 * By default a chat request needs an `Authorization` header (401
 * "No auth credentials found"), a known model id (400 "<id> is not a valid
 * model ID") and, for tools on a `:free` model, a row that lists `tools`
 * (404 "No endpoints found that support tool use"); `openrouter/free`
 * answers as the model it picked.
 *
 * @module
 */
import { defaultCatalog, FREE_ROUTER_PICK } from "./catalog.ts";
import { filterCatalog } from "./catalog_row.ts";
import { isRecord, JSON_HEADERS } from "./common.ts";
import {
  badRequest400,
  invalidModel400,
  modelsArrayTooLong400,
  noAuth401,
  noToolEndpoints404,
  userNotFound401,
} from "./errors.ts";
import {
  Exchange,
  FakeReset,
  renderStep,
  stoppedResponse,
} from "./exchange.ts";
import { FreeTier, type FreeTierOptions } from "./free_tier.ts";
import { defaultKeyData } from "./key.ts";
import {
  type DynamicStep,
  errorStep,
  ok,
  type ResponseStep,
  type Step,
} from "./steps.ts";
import { streamOk } from "./stream.ts";

/** One request the fake received. */
export interface RecordedRequest {
  /** HTTP method. */
  method: string;
  /** Path without query, e.g. `"/api/v1/chat/completions"`. */
  path: string;
  /** Query string including `"?"`, or `""`. */
  search: string;
  /** A copy of the request headers. */
  headers: Headers;
  /** Parsed JSON body, raw text if not JSON, `undefined` if empty. */
  body: unknown;
  /** `body.model` for chat requests. */
  model: string | undefined;
  /** Resolves when the client aborted/disconnected this request before the fake finished responding. */
  aborted: Promise<void>;
  /** Whether {@linkcode RecordedRequest.aborted} has resolved. */
  isAborted(): boolean;
}

/** Options for {@linkcode startFakeOpenRouter}. */
export interface FakeOpenRouterOptions {
  /** Catalog rows served by `GET /models`; default {@linkcode defaultCatalog}(). */
  models?: unknown[];
  /** Fields merged over the default `GET /key` `data` object. */
  key?: Record<string, unknown>;
  /**
   * Count the account's free-model requests and refuse past these limits, as
   * OpenRouter does (see free_tier.ts); off by default. With a daily limit,
   * `GET /key` reports the day's count.
   */
  freeTier?: FreeTierOptions;
}

/** A running fake OpenRouter. */
export interface FakeOpenRouter extends AsyncDisposable {
  /** `"http://127.0.0.1:<port>/api/v1"` */
  readonly baseUrl: string;
  /** Every request, in arrival order (recorded once its body has been read). */
  readonly requests: RecordedRequest[];
  /** Only `POST /chat/completions`. */
  chatRequests(): RecordedRequest[];
  /** Only `GET /models`. */
  modelsRequests(): RecordedRequest[];
  /** Only `GET /key` and `GET /auth/key`. */
  keyRequests(): RecordedRequest[];
  /** Mutable catalog served by `GET /models`. */
  models: unknown[];
  /** Mutable `data` object served by `GET /key`. */
  key: Record<string, unknown>;
  /**
   * Queue responses for a model id; each chat request to that model takes the
   * next step; when its queue is empty the model gets the default behaviour
   * (a normal success). Scripted steps win over default validation (unknown
   * id, tool support) but not over the missing-Authorization 401. A
   * {@linkcode DynamicStep} is resolved against the request's body.
   */
  script(model: string, ...steps: Array<Step | DynamicStep>): void;
  /** Steps still queued for a model. */
  pendingSteps(model: string): number;
  /** Queue responses for `GET /models` (default: 200 with `{data, total_count, links: {next: null}}`). */
  scriptModels(...steps: Step[]): void;
  /** Queue responses for `GET /key` (after its auth check). */
  scriptKey(...steps: Step[]): void;
  /** Chat requests the free-tier counter refused (0 when `freeTier` is off). */
  readonly freeTierRefused: number;
  /** Resolves when the number of chat requests received reaches n (rejects if the fake closes first). */
  waitForChatRequests(n: number): Promise<void>;
  /** Releases hung requests (their connections are reset), then shuts the server down. Idempotent. */
  close(): Promise<void>;
}

/** A caller of `waitForChatRequests(n)`. */
interface Waiter {
  n: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

const CHAT_PATH = "/api/v1/chat/completions";
const MODELS_PATH = "/api/v1/models";

/** The fake: a loopback `Deno.serve` routing OpenRouter's paths to scripted or default steps. */
class FakeOpenRouterServer implements FakeOpenRouter {
  readonly baseUrl: string;
  readonly requests: RecordedRequest[] = [];
  models: unknown[];
  key: Record<string, unknown>;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #scripts = new Map<string, Array<Step | DynamicStep>>();
  #modelsSteps: Step[] = [];
  #keySteps: Step[] = [];
  #waiters: Waiter[] = [];
  #freeTier: FreeTier | undefined;
  #closing = new AbortController();
  #closed: Promise<void> | undefined;

  constructor(opts: FakeOpenRouterOptions) {
    this.models = opts.models ?? defaultCatalog();
    this.key = { ...defaultKeyData(), ...opts.key };
    this.#freeTier = opts.freeTier && new FreeTier(opts.freeTier);
    this.#server = Deno.serve(
      {
        port: 0,
        hostname: "127.0.0.1",
        onListen() {},
        onError(err) {
          if (!(err instanceof FakeReset)) {
            console.error("fake_openrouter: handler error", err);
          }
          return new Response(
            JSON.stringify({
              error: { message: "Internal Server Error", code: 500 },
            }),
            { status: 500, headers: JSON_HEADERS },
          );
        },
      },
      (req) => this.#handle(req),
    );
    this.baseUrl = `http://127.0.0.1:${this.#server.addr.port}/api/v1`;
  }

  chatRequests(): RecordedRequest[] {
    return this.requests.filter((r) =>
      r.method === "POST" && r.path === CHAT_PATH
    );
  }

  modelsRequests(): RecordedRequest[] {
    return this.requests.filter((r) =>
      r.method === "GET" && r.path === MODELS_PATH
    );
  }

  keyRequests(): RecordedRequest[] {
    return this.requests.filter((r) =>
      r.method === "GET" &&
      (r.path === "/api/v1/key" || r.path === "/api/v1/auth/key")
    );
  }

  get freeTierRefused(): number {
    return this.#freeTier?.refused ?? 0;
  }

  script(model: string, ...steps: Array<Step | DynamicStep>): void {
    const queue = this.#scripts.get(model) ?? [];
    queue.push(...steps);
    this.#scripts.set(model, queue);
  }

  pendingSteps(model: string): number {
    return this.#scripts.get(model)?.length ?? 0;
  }

  scriptModels(...steps: Step[]): void {
    this.#modelsSteps.push(...steps);
  }

  scriptKey(...steps: Step[]): void {
    this.#keySteps.push(...steps);
  }

  waitForChatRequests(n: number): Promise<void> {
    if (this.chatRequests().length >= n) return Promise.resolve();
    const waiting = this.#closed
      ? Promise.reject(new Error("fake_openrouter: closed"))
      : new Promise<void>((resolve, reject) =>
        this.#waiters.push({ n, resolve, reject })
      );
    // Rejection on close() is for whoever awaits; never an unhandled rejection.
    waiting.catch(() => {});
    return waiting;
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing.abort();
      for (const w of this.#waiters.splice(0)) {
        w.reject(
          new Error(
            `fake_openrouter: closed before ${w.n} chat requests arrived`,
          ),
        );
      }
      await this.#server.shutdown();
      await this.#server.finished;
    })();
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const ex = new Exchange(this.#closing.signal);
    const onAbort = () => ex.clientGone();
    // Only listened to while the handler runs: Deno (legacy behaviour) also
    // aborts req.signal after a *successful* response.
    req.signal.addEventListener("abort", onAbort);
    try {
      let text = "";
      try {
        text = await req.text();
      } catch {
        ex.clientGone();
      }
      let body: unknown = undefined;
      if (text !== "") {
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
      }
      const isChat = url.pathname === CHAT_PATH;
      const model = isChat && isRecord(body) && typeof body.model === "string"
        ? body.model
        : undefined;
      const rec: RecordedRequest = {
        method: req.method,
        path: url.pathname,
        search: url.search,
        headers: new Headers(req.headers),
        body,
        model,
        aborted: ex.aborted,
        isAborted: () => ex.isAborted(),
      };
      this.requests.push(rec);
      if (isChat && req.method === "POST") this.#notifyWaiters();
      if (ex.stopReason !== undefined) return stoppedResponse(ex);
      return await renderStep(this.#route(req, url, rec), ex);
    } finally {
      req.signal.removeEventListener("abort", onAbort);
    }
  }

  #notifyWaiters(): void {
    const count = this.chatRequests().length;
    this.#waiters = this.#waiters.filter((w) => {
      if (count < w.n) return true;
      w.resolve();
      return false;
    });
  }

  #route(req: Request, url: URL, rec: RecordedRequest): Step {
    const path = url.pathname;
    if (path === CHAT_PATH) {
      if (req.method !== "POST") return methodNotAllowed();
      return this.#chatStep(req, rec);
    }
    if (path === MODELS_PATH || path === `${MODELS_PATH}/count`) {
      if (req.method !== "GET") return methodNotAllowed();
      if (path === MODELS_PATH) {
        const scripted = this.#modelsSteps.shift();
        if (scripted) return scripted;
      }
      const data = filterCatalog(this.models, url.searchParams);
      if (path !== MODELS_PATH) {
        return {
          headers: { ...JSON_HEADERS },
          body: { data: { count: data.length } },
        };
      }
      return {
        headers: { ...JSON_HEADERS },
        body: { data, total_count: data.length, links: { next: null } },
      };
    }
    if (path === "/api/v1/key" || path === "/api/v1/auth/key") {
      if (req.method !== "GET") return methodNotAllowed();
      const auth = req.headers.get("authorization") ?? "";
      if (!auth.startsWith("Bearer sk-or-v1-")) return userNotFound401();
      const scripted = this.#keySteps.shift();
      if (scripted) return scripted;
      const apiKey = auth.slice("Bearer ".length);
      return {
        headers: { ...JSON_HEADERS },
        body: {
          data: {
            ...this.key,
            label: `${apiKey.slice(0, 11)}...${apiKey.slice(-3)}`,
            ...withDaily(this.#freeTier?.report()),
          },
        },
      };
    }
    if (path === "/api/v1/credits" && req.method === "GET") {
      return {
        headers: { ...JSON_HEADERS },
        body: { data: { total_credits: 0, total_usage: 0 } },
      };
    }
    return errorStep(404, { error: { message: "Not Found", code: 404 } });
  }

  /** A `:free` id, or a catalog row priced 0 for prompt and completion. */
  #isFree(model: string | undefined): boolean {
    if (model === undefined) return false;
    if (model.endsWith(":free") || model === "openrouter/free") return true;
    const row = this.models.find((r) => isRecord(r) && r.id === model);
    const pricing = isRecord(row) && isRecord(row.pricing)
      ? row.pricing
      : undefined;
    // Number(null) and Number("") are 0 too: a price left out is no price.
    const zero = (price: unknown) =>
      (typeof price === "string" && price.trim() !== "" ||
        typeof price === "number") && Number(price) === 0;
    return pricing !== undefined && zero(pricing.prompt) &&
      zero(pricing.completion);
  }

  #chatStep(req: Request, rec: RecordedRequest): Step {
    const auth = req.headers.get("authorization")?.trim() ?? "";
    if (auth === "" || auth === "Bearer") return noAuth401();
    const body = rec.body;
    if (!isRecord(body)) return badRequest400("Invalid JSON body");
    const model = rec.model;
    if (this.#freeTier !== undefined && this.#isFree(model)) {
      const refused = this.#freeTier.take();
      if (refused !== undefined) return refused;
    }
    if (model !== undefined) {
      const scripted = this.#scripts.get(model)?.shift();
      if (scripted) {
        return "respond" in scripted ? scripted.respond(body) : scripted;
      }
    }
    if (Array.isArray(body.models) && body.models.length > 3) {
      return modelsArrayTooLong400();
    }
    if (model === undefined) return badRequest400("No models provided");
    const row = this.models.find((r) => isRecord(r) && r.id === model);
    if (!isRecord(row)) return invalidModel400(model);
    const wantsTools = Array.isArray(body.tools) && body.tools.length > 0;
    const supported = Array.isArray(row.supported_parameters)
      ? row.supported_parameters
      : [];
    if (model.endsWith(":free") && wantsTools && !supported.includes("tools")) {
      return noToolEndpoints404();
    }
    const served = model === "openrouter/free" ? FREE_ROUTER_PICK : model;
    return body.stream === true
      ? { stream: streamOk(served, ["Hello", " world"]) }
      : ok(served);
  }
}

/** `GET /key`'s daily counter, when the free tier reports one. */
function withDaily(
  daily: Record<string, number> | undefined,
): Record<string, unknown> {
  return daily === undefined ? {} : { free_model_daily_requests: daily };
}

/** 405 in OpenRouter's error shape. */
function methodNotAllowed(): ResponseStep {
  return errorStep(405, {
    error: { message: "Method Not Allowed", code: 405 },
  });
}

/**
 * Starts a fake OpenRouter on `127.0.0.1:<random port>`. Close it with
 * `await using fake = startFakeOpenRouter()` or `await fake.close()`.
 */
export function startFakeOpenRouter(
  opts: FakeOpenRouterOptions = {},
): FakeOpenRouter {
  return new FakeOpenRouterServer(opts);
}
