/**
 * The proxy's routes, each with its handler: which paths exist, the methods
 * they allow, the error shape they answer in, and how a request URL maps onto
 * them (the `/v1` prefix is optional).
 *
 * @module
 */
import type { Api } from "../ops/request_log.ts";
import { chatCompletions } from "./chat.ts";
import type { RouteHandler } from "./context.ts";
import { health, metrics, model, models, page, status } from "./info.ts";
import { countTokens, messages } from "./messages.ts";
import { responses } from "./responses.ts";
import { sharedRouteFront } from "./front_errors.ts";
import { errorResponse } from "../errors.ts";
import { STATELESS } from "../fronts/responses/request.ts";

/** The path of a request URL, without parsing the whole URL. */
export function pathnameOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  let end = url.length;
  for (const c of ["?", "#"]) {
    const i = url.indexOf(c, start);
    if (i !== -1 && i < end) end = i;
  }
  return url.slice(start, end);
}

/** The path without its optional `/v1` prefix and trailing slash. */
function unprefixed(pathname: string): string {
  const path = pathname.length > 1 && pathname.endsWith("/")
    ? pathname.slice(0, -1)
    : pathname;
  return path.startsWith("/v1/") ? path.slice(3) : path;
}

/** What precedes a model's id in its path (`/v1/models/{id}`). */
const MODEL_PREFIX = "/models/";

/** The route of one model: its id is the whole rest of the path, slashes included. */
const MODEL_ROUTE = "/models/{id}";

/**
 * The paths of a stored response, which freerouter never has:
 * `/responses/{id}`, `/responses/{id}/input_items`, `/responses/{id}/cancel`
 * (not `input_tokens` or `compact`, OpenAI's other Responses paths).
 */
const STORED_RESPONSE =
  /^\/responses\/(?!(?:input_tokens|compact)(?:\/|$))([^/]+)(?:\/(?:input_items|cancel))?$/;

/** The route of a stored response. */
const RESPONSE_ROUTE = "/responses/{id}";

/**
 * The route: the OpenAI paths without their optional `/v1` prefix and
 * trailing slash; a model's path (`/v1/models/qwen/qwen3-coder:free`) is
 * {@link MODEL_ROUTE}, a stored response's {@link RESPONSE_ROUTE}.
 */
export function routeOf(pathname: string): string {
  const path = unprefixed(pathname);
  if (path.startsWith(MODEL_PREFIX) && path.length > MODEL_PREFIX.length) {
    return MODEL_ROUTE;
  }
  return path.startsWith("/responses/") && STORED_RESPONSE.test(path)
    ? RESPONSE_ROUTE
    : path;
}

/**
 * `GET`, `DELETE` `/v1/responses/{id}` and the paths under it
 * (`input_items`, `cancel`): 404 as OpenAI answers an id it does not have,
 * saying why: nothing is stored, whatever the request's `store` said.
 */
function storedResponse(req: Request): Response {
  const id = STORED_RESPONSE.exec(unprefixed(pathnameOf(req.url)))?.[1];
  return errorResponse({
    status: 404,
    message:
      `Response with id '${id}' not found: ${STATELESS} (a request's \`store\` is ignored)`,
    type: "invalid_request_error",
    code: "response_not_found",
  });
}

/**
 * The model id of a {@link MODEL_ROUTE} path: the rest after `/models/`,
 * URL-decoded (kept as sent when it is not valid percent-encoding).
 */
export function modelIdOf(pathname: string): string {
  const raw = unprefixed(pathname).slice(MODEL_PREFIX.length);
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * The error shape a route answers in: OpenAI's, with the upstream's refusals
 * passed through unchanged (chat completions); OpenAI's for every error,
 * refusals included (`/v1/responses`); or Anthropic's (`/v1/messages`).
 */
export type Front = "openai" | "responses" | "anthropic";

/** A route: the methods it allows, its handler, its metrics label. */
export interface Route {
  /** The `Allow` header value. */
  allow: string;
  /** The methods of `allow`. */
  methods: readonly string[];
  /** The `route` label in the metrics. */
  label: string;
  /** Answers the request. */
  handle: RouteHandler;
  /** Open without the access key. */
  open?: boolean;
  /**
   * Errors in this front's shape. Unset on the routes every client shares
   * (models, status, health): Anthropic's for a request that carries
   * `anthropic-version`, else OpenAI's.
   */
  front?: Front;
  /** A routed API: its requests are logged and listed on the status page. */
  api?: Api;
}

function route(
  allow: string,
  label: string,
  handle: RouteHandler,
  extra: Pick<Route, "open" | "front" | "api"> = {},
): Route {
  return { allow, methods: allow.split(", "), label, handle, ...extra };
}

/** The routes, by path without the `/v1` prefix. */
export const ROUTES: Record<string, Route> = {
  "/chat/completions": route("POST", "chat", chatCompletions, {
    api: "chat",
    front: "openai",
  }),
  "/messages": route("POST", "messages", messages, {
    api: "messages",
    front: "anthropic",
  }),
  "/messages/count_tokens": route("POST", "count_tokens", countTokens, {
    front: "anthropic",
  }),
  "/responses": route("POST", "responses", responses, {
    api: "responses",
    front: "responses",
  }),
  [RESPONSE_ROUTE]: route(
    "GET, HEAD, POST, DELETE",
    "stored_response",
    storedResponse,
    { front: "responses" },
  ),
  "/models": route("GET, HEAD", "models", models),
  [MODEL_ROUTE]: route(
    "GET, HEAD",
    "model",
    (req, ctx) => model(req, ctx, modelIdOf(pathnameOf(req.url))),
  ),
  "/freerouter/status": route("GET, HEAD", "freerouter_status", status),
  "/metrics": route("GET, HEAD", "metrics", metrics),
  "/health": route("GET, HEAD", "health", health, { open: true }),
  "/": route("GET, HEAD", "page", page, { open: true }),
};

/**
 * The front whose shape the errors of `req` take: its route's, else (a
 * route every client shares, an unknown path) Anthropic's for a request
 * that carries `anthropic-version`.
 */
export function errorFront(req: Request): Front {
  return ROUTES[routeOf(pathnameOf(req.url))]?.front ?? sharedRouteFront(req);
}
