/**
 * The zod schema of an Anthropic Messages request, as freerouter reads it:
 * the fields it translates are checked, every other field is accepted and
 * ignored (`cache_control`, `context_management`, `output_config`,
 * `container`, `mcp_servers`, `service_tier`, unknown betas, …).
 *
 * Content blocks of a type freerouter does not translate (server tool blocks,
 * tool references, future types) are accepted and become
 * `{type: "unsupported"}`, which the translation drops.
 *
 * @module
 */
import { z } from "zod";

const text = z.looseObject({ type: z.literal("text"), text: z.string() });

const image = z.looseObject({
  type: z.literal("image"),
  source: z.discriminatedUnion("type", [
    z.looseObject({
      type: z.literal("base64"),
      media_type: z.string(),
      data: z.string(),
    }),
    z.looseObject({ type: z.literal("url"), url: z.string() }),
  ], { error: "image sources must be `base64` or `url`" }),
});

/** `{type: "unsupported"}`: a block of a type freerouter does not translate. */
const UNSUPPORTED = { type: "unsupported" } as const;

/**
 * `known` or, for a block whose type is none of `known`'s, `{type:
 * "unsupported"}`. A block of a known type that is malformed is an error.
 */
function openUnion<T extends z.ZodDiscriminatedUnion>(
  known: T,
  types: ReadonlySet<string>,
) {
  const other = z.looseObject({
    type: z.string().refine((type) => !types.has(type)),
  }).transform(() => UNSUPPORTED);
  return z.union([known, other]);
}

const document = z.looseObject({
  type: z.literal("document"),
  title: z.string().nullish(),
  context: z.string().nullish(),
  source: z.discriminatedUnion("type", [
    z.looseObject({
      type: z.literal("base64"),
      media_type: z.string(),
      data: z.string(),
    }),
    z.looseObject({ type: z.literal("url"), url: z.string() }),
    z.looseObject({ type: z.literal("text"), data: z.string() }),
    z.looseObject({
      type: z.literal("content"),
      content: z.union([
        z.string(),
        z.array(openUnion(
          z.discriminatedUnion("type", [text, image]),
          new Set(["text", "image"]),
        )),
      ]),
    }),
  ], {
    error: "document sources must be `base64`, `url`, `text` or `content`",
  }),
});

/** A search result (a retrieval tool's or the client's own): its text and where it came from. */
const searchResult = z.looseObject({
  type: z.literal("search_result"),
  source: z.string(),
  title: z.string(),
  content: z.array(text),
});

const toolUse = z.looseObject({
  type: z.literal("tool_use"),
  id: z.string(),
  name: z.string(),
  input: z.unknown(),
});

const thinking = z.looseObject({
  type: z.enum(["thinking", "redacted_thinking"]),
});

/** A block inside a `tool_result`'s content. */
const toolResultPart = openUnion(
  z.discriminatedUnion("type", [text, image, document, searchResult]),
  new Set(["text", "image", "document", "search_result"]),
);

const toolResult = z.looseObject({
  type: z.literal("tool_result"),
  tool_use_id: z.string(),
  content: z.union([z.string(), z.array(toolResultPart)]).optional(),
  is_error: z.boolean().nullish(),
});

const block = openUnion(
  z.discriminatedUnion("type", [
    text,
    image,
    document,
    searchResult,
    toolUse,
    toolResult,
    thinking,
  ]),
  new Set([
    "text",
    "image",
    "document",
    "search_result",
    "tool_use",
    "tool_result",
    "thinking",
    "redacted_thinking",
  ]),
);

const message = z.looseObject({
  role: z.enum(["user", "assistant", "system"]),
  content: z.union([z.string(), z.array(block)]),
});

const tool = z.looseObject({
  name: z.string(),
  description: z.string().nullish(),
  /** Absent on server tools (`web_search_20250305`, `bash_20250124`, …). */
  input_schema: z.custom<Record<string, unknown>>(
    (value) =>
      typeof value === "object" && value !== null && !Array.isArray(value),
    "`input_schema` must be a JSON Schema object",
  ).optional(),
});

const toolChoice = z.discriminatedUnion("type", [
  z.looseObject({
    type: z.enum(["auto", "any"]),
    disable_parallel_tool_use: z.boolean().nullish(),
  }),
  z.looseObject({
    type: z.literal("tool"),
    name: z.string(),
    disable_parallel_tool_use: z.boolean().nullish(),
  }),
  z.looseObject({ type: z.literal("none") }),
]);

/** The parts of a zod issue that error messages use. */
export interface Issue {
  code: string;
  path: PropertyKey[];
  message: string;
  errors?: Issue[][];
}

/**
 * The most specific issue under a union: the branch whose first issue has the
 * longest path (the first branch on a tie), so that a bad block inside a
 * `content` array is reported rather than "expected string".
 */
export function mostSpecificIssue(issue: Issue): Issue {
  if (issue.code !== "invalid_union" || !issue.errors?.length) return issue;
  let best: Issue | undefined;
  for (const branch of issue.errors) {
    const first = branch[0];
    if (!first) continue;
    const inner = mostSpecificIssue(first);
    if (!best || inner.path.length > best.path.length) best = inner;
  }
  return best ? { ...best, path: [...issue.path, ...best.path] } : issue;
}

/** The request schema; see the module doc. */
export const messagesRequestSchema = z.looseObject({
  model: z.string().optional(),
  max_tokens: z.number().int().positive(),
  messages: z.array(message).min(1),
  system: z.union([z.string(), z.array(text)]).optional(),
  stream: z.boolean().nullish(),
  stop_sequences: z.array(z.string()).nullish(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  top_k: z.number().nullish(),
  metadata: z.looseObject({ user_id: z.string().nullish() }).nullish(),
  tools: z.array(tool).nullish(),
  tool_choice: toolChoice.nullish(),
  thinking: z.looseObject({
    type: z.string(),
    budget_tokens: z.number().nullish(),
  }).nullish(),
});

/** A validated Messages request. */
export type MessagesRequest = z.output<typeof messagesRequestSchema>;
/** One validated message of {@link MessagesRequest}. */
export type MessagesRequestMessage = MessagesRequest["messages"][number];
/** One validated content block of a message. */
export type MessagesRequestBlock = Exclude<
  MessagesRequestMessage["content"],
  string
>[number];
/** One validated block of a `tool_result`'s content. */
export type ToolResultPart = z.output<typeof toolResultPart>;
