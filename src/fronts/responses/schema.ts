/**
 * The zod schema of an OpenAI Responses request (`POST /v1/responses`), as
 * freerouter reads it: the fields it translates are checked, every other
 * field is accepted and ignored (`store`, `include`, `prompt_cache_key`,
 * `client_metadata`, `metadata`, `truncation`, `service_tier`,
 * `safety_identifier`, `stream_options`, future fields).
 *
 * Input items of a Responses API type freerouter does not translate
 * (`reasoning`, `compaction`, hosted tool calls and their outputs; see
 * {@link INPUT_ITEM_TYPES}) are accepted and become `{type: "dropped"}`, and
 * so are items of a type the table does not know: the API adds item types,
 * and a client such as Codex sends what OpenAI accepts, so refusing them
 * would break it on its next release. (A request left with no message is
 * refused: see `request.ts`.) An `item_reference` (an item with only an
 * `id`) is an error: nothing is stored to refer to.
 *
 * `tool_choice` is checked for its shape here; whether the tools it names
 * exist is checked against the request's tools by `tool_choice.ts`.
 *
 * @module
 */
import type { ResponseInputItem } from "openai/resources/responses/responses";
import { z } from "zod";
import { isRecord } from "../../core/records.ts";

/** Why an image or file given by `file_id` is refused. */
const FILE_ID_MESSAGE =
  "freerouter is stateless and has no file storage, so `file_id` cannot be resolved";

const inputText = z.looseObject({
  type: z.literal("input_text"),
  text: z.string(),
});
const outputText = z.looseObject({
  type: z.literal("output_text"),
  text: z.string(),
});
const refusal = z.looseObject({
  type: z.literal("refusal"),
  refusal: z.string(),
});
const inputImage = z.looseObject({
  type: z.literal("input_image"),
  image_url: z.string({
    error:
      `\`image_url\` is required (a URL or a base64 data URL): ${FILE_ID_MESSAGE}`,
  }),
  detail: z.string().nullish(),
});
const inputFile = z.looseObject({
  type: z.literal("input_file"),
  file_data: z.string().nullish(),
  file_url: z.string().nullish(),
  filename: z.string().nullish(),
}).refine((file) => file.file_data != null || file.file_url != null, {
  message:
    `\`input_file\` needs \`file_data\` or \`file_url\`: ${FILE_ID_MESSAGE}`,
});

const contentPart = z.discriminatedUnion("type", [
  inputText,
  outputText,
  refusal,
  inputImage,
  inputFile,
], {
  error:
    "content parts must be `input_text`, `output_text`, `refusal`, `input_image` or `input_file`",
});

const toolOutput = z.union([z.string(), z.array(contentPart)]);

const message = z.looseObject({
  type: z.literal("message"),
  role: z.enum(["user", "assistant", "system", "developer"]),
  content: z.union([z.string(), z.array(contentPart)]),
});
const functionCall = z.looseObject({
  type: z.literal("function_call"),
  call_id: z.string(),
  name: z.string(),
  arguments: z.string(),
  namespace: z.string().nullish(),
});
const functionCallOutput = z.looseObject({
  type: z.literal("function_call_output"),
  call_id: z.string(),
  output: toolOutput,
});
const customToolCall = z.looseObject({
  type: z.literal("custom_tool_call"),
  call_id: z.string(),
  name: z.string(),
  input: z.string(),
  namespace: z.string().nullish(),
});
const customToolCallOutput = z.looseObject({
  type: z.literal("custom_tool_call_output"),
  call_id: z.string(),
  output: toolOutput,
});
const itemReference = z.looseObject({ type: z.literal("item_reference") })
  .refine(() => false, {
    message:
      "`item_reference` is not supported: freerouter is stateless and stores no items; send the items themselves",
  });

/**
 * Every input item type of the Responses API (the `openai` SDK's
 * `ResponseInputItem`, checked by the compiler both ways) and what freerouter
 * does with it.
 */
export const INPUT_ITEM_TYPES = {
  message: "translated",
  function_call: "translated",
  function_call_output: "translated",
  custom_tool_call: "translated",
  custom_tool_call_output: "translated",
  item_reference: "refused",
  reasoning: "dropped",
  compaction: "dropped",
  compaction_trigger: "dropped",
  additional_tools: "dropped",
  program: "dropped",
  program_output: "dropped",
  file_search_call: "dropped",
  computer_call: "dropped",
  computer_call_output: "dropped",
  web_search_call: "dropped",
  tool_search_call: "dropped",
  tool_search_output: "dropped",
  image_generation_call: "dropped",
  code_interpreter_call: "dropped",
  local_shell_call: "dropped",
  local_shell_call_output: "dropped",
  shell_call: "dropped",
  shell_call_output: "dropped",
  apply_patch_call: "dropped",
  apply_patch_call_output: "dropped",
  mcp_list_tools: "dropped",
  mcp_approval_request: "dropped",
  mcp_approval_response: "dropped",
  mcp_call: "dropped",
} as const satisfies Record<
  NonNullable<ResponseInputItem["type"]>,
  "translated" | "dropped" | "refused"
>;

type ItemType = keyof typeof INPUT_ITEM_TYPES;

const ITEM_TYPES = Object.keys(INPUT_ITEM_TYPES) as ItemType[];
const DROPPED_ITEM_TYPES = ITEM_TYPES.filter((type) =>
  INPUT_ITEM_TYPES[type] === "dropped"
) as [ItemType, ...ItemType[]];

/** An input item freerouter does not translate. */
const DROPPED = { type: "dropped" } as const;

const droppedItem = z.looseObject({ type: z.enum(DROPPED_ITEM_TYPES) })
  .transform(() => DROPPED);

/** The message for an item that is no object, or of no known type. */
function itemIssue(issue: { input?: unknown }): string {
  if (!isRecord(issue.input)) return "an input item must be an object";
  const types = ITEM_TYPES.map((type) => `\`${type}\``).join(", ");
  return `Invalid value ${
    JSON.stringify(issue.input.type)
  }: an input item's type is one of ${types}`;
}

/**
 * The message of the issue a catch-all branch raises for a known type, which
 * error reporting skips in favour of the known type's own issue.
 */
export const OTHER_TYPE_ISSUE = "a type with its own schema";

/** Objects whose `type` is none of `known`. */
function otherType(known: ReadonlySet<string>) {
  return z.looseObject({
    type: z.string().refine((type) => !known.has(type), {
      message: OTHER_TYPE_ISSUE,
      abort: true,
    }),
  });
}

/**
 * One input item. `type` is optional in the API: an item with a `role` is a
 * message, an item without either is an item reference.
 */
const item = z.preprocess(
  (value) =>
    isRecord(value) && value.type === undefined
      ? { ...value, type: "role" in value ? "message" : "item_reference" }
      : value,
  z.union([
    z.discriminatedUnion("type", [
      message,
      functionCall,
      functionCallOutput,
      customToolCall,
      customToolCallOutput,
      itemReference,
      droppedItem,
    ], { error: itemIssue }),
    // A type newer than this table (the API grows; clients such as Codex
    // send what it accepts): dropped, not refused.
    otherType(new Set(ITEM_TYPES)).transform(() => DROPPED),
  ]),
);

const jsonObject = z.custom<Record<string, unknown>>(
  isRecord,
  "must be a JSON Schema object",
);

const functionTool = z.looseObject({
  type: z.literal("function"),
  name: z.string(),
  description: z.string().nullish(),
  parameters: jsonObject.nullish(),
  strict: z.boolean().nullish(),
});
const customTool = z.looseObject({
  type: z.literal("custom"),
  name: z.string(),
  description: z.string().nullish(),
});
const namespaceTool = z.looseObject({
  type: z.literal("namespace"),
  name: z.string(),
  description: z.string().nullish(),
  tools: z.array(z.discriminatedUnion("type", [functionTool, customTool], {
    error: "a namespace holds `function` and `custom` tools only",
  })),
});

/** Tool types translated to chat tools; every other type is hosted. */
export const CLIENT_TOOL_TYPES: ReadonlySet<string> = new Set([
  "function",
  "custom",
  "namespace",
]);

/**
 * A tool. Hosted tools (`web_search`, `file_search`, `mcp`, …) are kept as
 * sent, so that the response can echo them; the translation drops them.
 */
const tool = z.union([
  z.discriminatedUnion("type", [functionTool, customTool, namespaceTool]),
  otherType(CLIENT_TOOL_TYPES),
]);

/** Tool types named in `tool_choice` (and `allowed_tools`) by `name`. */
const NAMED_TYPES = ["function", "custom"] as const;

/** A tool named by `tool_choice`: a function or custom tool, by name. */
const namedChoice = z.looseObject({
  type: z.enum(NAMED_TYPES),
  name: z.string(),
});

/** One tool of an `allowed_tools` list; hosted ones by their type. */
const allowedTool = z.union([
  z.looseObject({
    type: z.enum([...NAMED_TYPES, "namespace"]),
    name: z.string(),
  }),
  otherType(CLIENT_TOOL_TYPES),
]);

const allowedTools = z.looseObject({
  type: z.literal("allowed_tools"),
  mode: z.enum(["auto", "required"]),
  tools: z.array(allowedTool),
});

/**
 * `tool_choice`: a mode, a named tool, `allowed_tools`, or a hosted tool's
 * choice (`web_search_preview`, `mcp`, `shell`, …).
 */
const toolChoice = z.union([
  z.enum(["auto", "none", "required"]),
  z.discriminatedUnion("type", [namedChoice, allowedTools]),
  otherType(new Set([...NAMED_TYPES, "allowed_tools"])),
]);

const textFormat = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("text") }),
  z.looseObject({
    type: z.literal("json_schema"),
    name: z.string(),
    schema: jsonObject,
    description: z.string().nullish(),
    strict: z.boolean().nullish(),
  }),
  z.looseObject({ type: z.literal("json_object") }),
], {
  error: "`text.format.type` must be `text`, `json_schema` or `json_object`",
});

/** The request schema; see the module doc. */
export const responsesRequestSchema = z.looseObject({
  model: z.string().optional(),
  input: z.union([z.string(), z.array(item)]).optional(),
  instructions: z.string().nullish(),
  stream: z.boolean().nullish(),
  previous_response_id: z.string().nullish(),
  conversation: z.union([z.string(), z.looseObject({ id: z.string() })])
    .nullish(),
  background: z.boolean().nullish(),
  prompt: z.looseObject({}).nullish(),
  tools: z.array(tool).nullish(),
  tool_choice: toolChoice.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  max_output_tokens: z.number().int().positive().nullish(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  text: z.looseObject({ format: textFormat.nullish() }).nullish(),
  reasoning: z.looseObject({
    effort: z.string().nullish(),
    summary: z.string().nullish(),
    generate_summary: z.string().nullish(),
  }).nullish(),
  include: z.array(z.string()).nullish(),
  metadata: z.looseObject({}).nullish(),
  user: z.string().nullish(),
});

/** A validated Responses request. */
export type ResponsesRequest = z.output<typeof responsesRequestSchema>;
/** One validated input item (untranslated types are `{type: "dropped"}`). */
export type InputItem = Exclude<ResponsesRequest["input"], string | undefined>[
  number
];
/** One validated content part of a message or of a tool's output. */
export type ContentPart = z.output<typeof contentPart>;
/** A validated `function`, `custom` or `namespace` tool. */
export type ClientTool = z.output<
  typeof functionTool | typeof customTool | typeof namespaceTool
>;
/** A validated function tool (top-level or inside a namespace). */
export type FunctionToolDef = z.output<typeof functionTool>;
/** A validated custom tool (top-level or inside a namespace). */
export type CustomToolDef = z.output<typeof customTool>;
/** A validated `tool_choice`. */
export type ToolChoice = NonNullable<ResponsesRequest["tool_choice"]>;
/** A `tool_choice` naming a function or custom tool. */
export type NamedChoice = z.output<typeof namedChoice>;
/** A `tool_choice` of type `allowed_tools`. */
export type AllowedToolsChoice = z.output<typeof allowedTools>;
