/**
 * Resumption: how a committed stream that broke continues on the next free
 * model. The client's request goes out again with the forwarded text appended
 * as an assistant message (a prefill), routed by the same attempt loop as any
 * request (the same attempts, limiter, cooldowns and `maxAttempts`), never on
 * a model whose stream broke in this request or that rejected a prefill. The
 * stream guard (upstream/stream_guard.ts) pipes the continuation into the
 * client's stream.
 *
 * @module
 */
import type { Attempt } from "./errors.ts";
import type { Logger } from "./options.ts";
import type { RouteContext, Routed, RouteRun } from "./router.ts";
import type { ChatCompletionRequest } from "./types.ts";
import type {
  AttemptInput,
  AttemptResult,
  UpstreamOptions,
} from "./upstream/request.ts";
import { attemptStream, type StreamAnswer } from "./upstream/stream_attempt.ts";
import {
  type Resume,
  startsAfresh,
  type StreamBreak,
} from "./upstream/stream_track.ts";

/** The attempt loop, as resumption calls it. */
export type RouteLoop = (
  request: ChatCompletionRequest,
  attempt: (
    o: UpstreamOptions,
    i: AttemptInput,
  ) => Promise<AttemptResult<StreamAnswer>>,
  run: RouteRun,
) => Promise<Routed<StreamAnswer>>;

/**
 * The resume hook of one streaming request, or undefined when it asks for
 * several choices (`n` > 1: each would need its own continuation).
 */
export function resumer(
  request: ChatCompletionRequest,
  context: RouteContext,
  attempts: Attempt[],
  logger: Logger,
  route: RouteLoop,
  onBreak?: (at: StreamBreak) => void,
): Resume | undefined {
  if (typeof request.n === "number" && request.n > 1) return undefined;
  const broken = new Set<string>();
  const resume: Resume = async (at) => {
    broken.add(at.model);
    const continues: StreamBreak = { ...at, origin: at.origin ?? at };
    /** Models that finished without adding to the text (see `Tracked.answered`). */
    let nothingAdded = at.nothingAdded ?? 0;
    // Nothing forwarded but reasoning: the next model answers afresh.
    const prefilled: ChatCompletionRequest = {
      ...request,
      stream: true,
      messages: startsAfresh(at)
        ? request.messages
        : [...request.messages, { role: "assistant", content: at.text }],
    };
    try {
      const routed = await route(
        prefilled,
        async (o, i) => {
          const result = await attemptStream(o, {
            ...i,
            resume,
            continues: { ...continues, nothingAdded },
            parsedEvents: context.parsedEvents,
            onCut: context.onStreamCut,
            onBreak,
          });
          if (!result.ok && result.failure.kind === "nothing_added") {
            nothingAdded++;
          }
          return result;
        },
        { attempts, continues, skip: broken },
      );
      logger.info("stream resumed", {
        ...(context.requestId === undefined
          ? {}
          : { request_id: context.requestId }),
        broken_model: at.model,
        break: at.error,
        after_events: at.events,
        model: routed.model,
      });
      context.onResume?.("resumed");
      return { model: routed.model, body: routed.answer.body };
    } catch {
      context.onResume?.("failed");
      return undefined;
    }
  };
  return resume;
}
