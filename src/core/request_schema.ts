/**
 * Validation of chat completion request bodies: the fields freerouter relies
 * on are checked, everything else passes through untouched.
 *
 * @module
 */
import { z } from "zod";
import type { ChatCompletionRequest } from "../types.ts";
import { isRecord } from "./records.ts";

const chatRequestSchema = z.looseObject({
  model: z.string().optional(),
  messages: z.array(z.looseObject({ role: z.string() })).min(1),
  stream: z.boolean().optional(),
});

/** A request body that failed validation. */
export interface InvalidRequest {
  /** What is wrong, naming the field. */
  message: string;
  /** The field's path, e.g. `messages` or `messages.0.role`. */
  param: string | null;
}

/**
 * Whether a body plainly passes {@link chatRequestSchema}: the common case,
 * checked without the schema's machinery. A `false` proves nothing; the
 * schema then decides, and words the error.
 */
function plainlyValid(body: Record<string, unknown>): boolean {
  const { model, messages, stream } = body;
  if (model !== undefined && typeof model !== "string") return false;
  if (stream !== undefined && typeof stream !== "boolean") return false;
  if (!Array.isArray(messages) || messages.length === 0) return false;
  for (const message of messages) {
    if (!isRecord(message) || typeof message.role !== "string") return false;
  }
  return true;
}

/**
 * Checks a parsed JSON body. Returns the body itself (not a copy) when valid,
 * so unknown fields and their order are kept.
 */
export function validateChatRequest(
  body: unknown,
): { ok: true; request: ChatCompletionRequest } | {
  ok: false;
  error: InvalidRequest;
} {
  if (!isRecord(body)) {
    return {
      ok: false,
      error: { message: "The request body must be a JSON object", param: null },
    };
  }
  if (plainlyValid(body)) {
    return { ok: true, request: body as ChatCompletionRequest };
  }
  const result = chatRequestSchema.safeParse(body);
  if (result.success) {
    return { ok: true, request: body as ChatCompletionRequest };
  }
  const issue = result.error.issues[0]!;
  const param = issue.path.length > 0 ? issue.path.join(".") : null;
  const message = param === "messages" && issue.code === "too_small"
    ? "`messages` must hold at least one message"
    : `Invalid request body: ${param ? `\`${param}\`: ` : ""}${issue.message}`;
  return { ok: false, error: { message, param } };
}
