/**
 * A scriptable fake of OpenRouter's HTTP API (`/api/v1`) for tests.
 *
 * Its bodies, headers and stream framing copy what OpenRouter documents and
 * has been seen to send:
 * - errors are `{"error": {"message", "code", "metadata"?}}` with the HTTP
 *   status equal to `error.code`, except errors raised once a model has
 *   started, which come in a 200 body or as a data event of the stream
 *   (https://openrouter.ai/docs/api/reference/errors-and-debugging);
 * - platform 429s carry `X-RateLimit-Limit`, `-Remaining` and `-Reset` (epoch
 *   ms), mirrored in `error.metadata.headers`; rate_limits.ts holds the eight
 *   429 bodies seen (A–H) and their sources
 *   (https://openrouter.ai/docs/api-reference/limits);
 * - streams are `data: <json>` events ended by `data: [DONE]`, with
 *   `: OPENROUTER PROCESSING` keep-alive comments
 *   (https://openrouter.ai/docs/api/reference/streaming);
 * - `GET /models` lists `Model` rows with prices as decimal strings and, by
 *   default, text-output rows only (https://openrouter.ai/docs/models);
 * - `GET /key` reports the free tier's daily counter in
 *   `free_model_daily_requests` (https://openrouter.ai/docs/api-reference/limits);
 * - with `freeTier`, the account's free-model requests are counted, failed
 *   ones included, and refused past the per-minute or daily limit with those
 *   429s.
 *
 * Files: steps.ts (step types, success and generic errors), stream.ts (SSE
 * events), rate_limits.ts (429s), errors.ts (other errors), catalog_row.ts and
 * catalog.ts (rows and the default catalog), key.ts (`/key`), free_tier.ts
 * (the account's counter), exchange.ts and
 * server.ts (the server). The `*_test.ts` files beside them test the fake
 * itself, through _test_client.ts.
 *
 * ```ts
 * await using fake = startFakeOpenRouter();
 * fake.script("qwen/qwen3-coder:free", dailyCap(), ok("qwen/qwen3-coder:free"));
 * // point the code under test at fake.baseUrl
 * ```
 *
 * @module
 */

export {
  generationId,
  nextMinuteMs,
  nextUtcMidnightMs,
  providerFor,
} from "./common.ts";
export {
  completionBody,
  type DynamicStep,
  errorStatus,
  type GenerationMeta,
  type HangStep,
  ok,
  type ResetStep,
  type ResponseStep,
  type Step,
  type StreamScript,
  type StreamStep,
  usageObject,
} from "./steps.ts";
export {
  chunk,
  DONE,
  PROCESSING,
  sseData,
  streamErrorEvent,
  type StreamErrorOptions,
  streamOk,
  usageChunk,
} from "./stream.ts";
export {
  capacityExhausted429,
  cloudflare429,
  CLOUDFLARE_429_BODY,
  dailyCap,
  type DailyCapOptions,
  minuteCap,
  type MinuteCapOptions,
  modelRpd,
  type ModelRpdOptions,
  modelRpm,
  type ModelRpmOptions,
  providerThrottled,
  type ProviderThrottledOptions,
  rateLimited429,
} from "./rate_limits.ts";
export {
  availabilityError,
  badRequest400,
  contextLength400,
  dataPolicy404,
  errorIn200WithChoices,
  freeVariantEnded404,
  guardrail403,
  insufficientCredits402,
  invalidModel400,
  modelsArrayTooLong400,
  moderation403,
  noAuth401,
  noEndpoints404,
  noToolEndpoints404,
  outputModalities404,
  overloadedIn200,
  provider401,
  providerCredits402,
  providerError502,
  toolChoice404,
  userNotFound401,
} from "./errors.ts";
export {
  catalogRow,
  type ModelArchitecture,
  type ModelRow,
  RESPAN_CLASSIFIER_ROW,
} from "./catalog_row.ts";
export {
  defaultCatalog,
  FREE_CHAT_IDS_IN_PRIORITY_ORDER,
  FREE_ROUTER_PICK,
} from "./catalog.ts";
export { defaultKeyData } from "./key.ts";
export { type FreeTierOptions } from "./free_tier.ts";
export {
  type FakeOpenRouter,
  type FakeOpenRouterOptions,
  type RecordedRequest,
  startFakeOpenRouter,
} from "./server.ts";
