/**
 * Client access keys at the door: which client a request comes from (keys
 * compared in constant time, never logged), and what it may spend: its own
 * models list (403) and its own limits (429 with `Retry-After`), both before
 * any upstream attempt. Counts live in the state's KV store, so several
 * instances enforce one limit.
 *
 * @module
 */
import {
  type ClientKey,
  clientKeysProblem,
  mayUseAuto,
  mayUseModel,
  modelsFor,
} from "../core/client_keys.ts";
import type { CustomAliases } from "../core/aliases.ts";
import { errorResponse } from "../errors.ts";
import type { RouteContext } from "../router.ts";
import {
  ClientUsage,
  type ClientUsageView,
  retryAfterSeconds,
} from "../state/client_usage.ts";
import type { RoutingState } from "../state/state.ts";
import { timingSafeEqual } from "./auth.ts";

/** A refusal decided before routing; the handler answers with its response. */
export class ClientRefusal extends Error {
  override name = "ClientRefusal";
  /** The response to answer with. */
  readonly response: Response;
  /** The error code, for the trace. */
  readonly code: string;

  constructor(code: string, response: Response) {
    super(code);
    this.code = code;
    this.response = response;
  }
}

/** The configured clients and their counts. */
export class ClientRegistry {
  readonly clients: readonly ClientKey[];
  readonly #byName: Map<string, ClientKey>;
  readonly #usage: ClientUsage;
  /** The operator's aliases: a client that may use one gets its models. */
  readonly #aliases: CustomAliases;
  /** The clients that may send plain `auto` (see `mayUseAuto`). */
  readonly #grantsAuto: ReadonlySet<string>;

  /** Validates the list (a `TypeError` names the bad entry). */
  constructor(
    clients: readonly ClientKey[],
    state: RoutingState,
    accessKey: string | undefined,
    warn: (message: string) => void,
    aliases: CustomAliases,
  ) {
    this.#aliases = aliases;
    const problem = clientKeysProblem(clients);
    if (problem) {
      throw new TypeError(
        `Cannot serve: clientKeys ${problem.entry} ${problem.problem}`,
      );
    }
    const clash = accessKey
      ? clients.find((c) => c.key === accessKey)
      : undefined;
    if (clash) {
      throw new TypeError(
        `Cannot serve: clientKeys entry ${
          JSON.stringify(clash.name)
        } has the same key as accessKey`,
      );
    }
    this.clients = clients.map((c) => ({ ...c }));
    this.#byName = new Map(this.clients.map((c) => [c.name, c]));
    this.#grantsAuto = new Set(
      this.clients.filter(mayUseAuto).map((c) => c.name),
    );
    this.#usage = new ClientUsage(state.kv, warn);
  }

  /** A client by name. */
  byName(name: string | undefined): ClientKey | undefined {
    return name === undefined ? undefined : this.#byName.get(name);
  }

  /**
   * Who sent `given`: `{ ok: true, client }` for a client key,
   * `{ ok: true }` for the access key, `{ ok: false }` otherwise. Every key
   * is compared, in time that does not depend on which one matched.
   */
  identify(
    given: string | undefined,
    accessKey: string | undefined,
  ): { ok: boolean; client?: ClientKey } {
    const key = given ?? "";
    let found: ClientKey | undefined;
    let access = false;
    for (const client of this.clients) {
      if (timingSafeEqual(key, client.key) && key !== "") found = client;
    }
    if (accessKey && timingSafeEqual(key, accessKey) && key !== "") {
      access = true;
    }
    return found ? { ok: true, client: found } : { ok: access };
  }

  /** The 403 refusal when the client may not ask for `model`. */
  checkModel(client: ClientKey | undefined, model: string | undefined): void {
    if (!client || mayUseModel(client, model)) return;
    throw new ClientRefusal(
      "model_not_allowed",
      errorResponse({
        status: 403,
        message: `The client "${client.name}" may not use the model "${
          model ?? "auto"
        }" (allowed: ${client.models!.join(", ")})`,
        param: "model",
        code: "model_not_allowed",
      }),
    );
  }

  /**
   * The route context for the client's request: limited to the models on
   * the client's list when it named a model (see `modelsFor`).
   */
  contextFor(
    client: ClientKey | undefined,
    model: string | undefined,
    context: RouteContext,
  ): RouteContext {
    const models = client &&
      modelsFor(
        client,
        model,
        (name) => this.#aliases.has(name),
        this.#grantsAuto.has(client.name),
      );
    return models === undefined ? context : { ...context, models };
  }

  /** Counts one request of the client, or throws the 429 when a limit is reached. */
  async count(client: ClientKey | undefined, now: number): Promise<void> {
    if (!client) return;
    const result = await this.#usage.take(client.name, {
      perDay: client.requestsPerDay,
      perMinute: client.requestsPerMinute,
    }, now);
    if (result.ok) return;
    const seconds = retryAfterSeconds(result.retryAt, now);
    const limit = result.window === "day"
      ? `${client.requestsPerDay} requests per day`
      : `${client.requestsPerMinute} requests per minute`;
    throw new ClientRefusal(
      "client_limit_reached",
      errorResponse({
        status: 429,
        message:
          `The client "${client.name}" reached its limit of ${limit}; retry after ${seconds} s (at ${
            new Date(result.retryAt).toISOString()
          })`,
        code: "client_limit_reached",
        headers: { "retry-after": String(seconds) },
      }),
    );
  }

  /** Every client's usage at `now`, by name. */
  usage(now: number): Promise<Map<string, ClientUsageView>> {
    return this.#usage.usage(this.clients.map((c) => c.name), now);
  }
}
