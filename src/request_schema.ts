/**
 * Validation of chat completion request bodies: the fields freerouter relies
 * on are checked, everything else passes through untouched.
 *
 * @module
 */
import { z } from "zod";
import type { ChatCompletionRequest } from "./types.ts";

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
 * Checks a parsed JSON body. Returns the body itself (not a copy) when valid,
 * so unknown fields and their order are kept.
 */
export function validateChatRequest(
  body: unknown,
): { ok: true; request: ChatCompletionRequest } | {
  ok: false;
  error: InvalidRequest;
} {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return {
      ok: false,
      error: { message: "The request body must be a JSON object", param: null },
    };
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
