/**
 * Responses `tool_choice` → chat's, against the request's tools.
 *
 * - `auto`, `none` and `required` pass as they are.
 * - A named `function` or `custom` tool becomes a chat function choice under
 *   the tool's chat name: the top-level tool of that kind and name, else the
 *   first namespaced one (a `tool_choice` names no namespace).
 * - `allowed_tools` keeps only the tools it lists (a `namespace` entry allows
 *   the whole group) and becomes its `mode`.
 * - A hosted tool's choice (`web_search_preview`, `mcp`, `shell`, …) becomes
 *   `auto`.
 *
 * Checking ({@link checkToolChoice}) refuses, as OpenAI does, a named tool
 * the request does not define and an `allowed_tools` entry that names none.
 * A name or entry that stands for a hosted tool of the request, which
 * freerouter drops, is accepted: a named choice of one becomes `auto`, and an
 * `allowed_tools` entry of one allows nothing.
 *
 * @module
 */
import {
  type AllowedToolsChoice,
  CLIENT_TOOL_TYPES,
  type NamedChoice,
  type ResponsesRequest,
  type ToolChoice,
} from "./schema.ts";
import type { ChatTool, ToolNames } from "./tools.ts";

type Tools = ResponsesRequest["tools"];
type AllowedEntry = AllowedToolsChoice["tools"][number];
/** An `allowed_tools` entry naming a function, custom or namespace tool. */
type NamedEntry = Extract<AllowedEntry, { name: string }>;

function isNamedEntry(entry: AllowedEntry): entry is NamedEntry {
  return entry.type === "function" || entry.type === "custom" ||
    entry.type === "namespace";
}

function isNamed(choice: ToolChoice): choice is NamedChoice {
  return typeof choice === "object" &&
    (choice.type === "function" || choice.type === "custom");
}

function isAllowed(choice: ToolChoice): choice is AllowedToolsChoice {
  return typeof choice === "object" && choice.type === "allowed_tools";
}

/** The hosted tools of the request (the ones freerouter drops). */
function hosted(tools: Tools): Array<Record<string, unknown>> {
  return (tools ?? []).filter((tool) => !CLIENT_TOOL_TYPES.has(tool.type));
}

/**
 * Whether `name` stands for a hosted tool of the request: its type, or its
 * `name` or `server_label` (MCP) when it has one.
 */
function namesHosted(tools: Tools, name: string): boolean {
  return hosted(tools).some((tool) =>
    tool.type === name || tool.name === name || tool.server_label === name
  );
}

/**
 * The chat names an `allowed_tools` entry allows (none for a hosted tool of
 * the request), or `undefined` when it names no tool of the request.
 */
function allows(
  entry: AllowedEntry,
  names: ToolNames,
  tools: Tools,
): readonly string[] | undefined {
  if (!isNamedEntry(entry)) {
    return hosted(tools).some((tool) => tool.type === entry.type)
      ? []
      : undefined;
  }
  if (entry.type === "namespace") return names.group(entry.name);
  const chatName = names.find(entry.type, entry.name);
  if (chatName !== undefined) return [chatName];
  return namesHosted(tools, entry.name) ? [] : undefined;
}

/** Why a `tool_choice` cannot be served, naming the parameter. */
export interface ToolChoiceIssue {
  message: string;
  param: string;
}

/**
 * Checks that the tools `tool_choice` names are among the request's tools;
 * see the module doc.
 */
export function checkToolChoice(
  request: ResponsesRequest,
  names: ToolNames,
): ToolChoiceIssue | undefined {
  const choice = request.tool_choice;
  if (choice == null) return undefined;
  if (isNamed(choice)) {
    if (
      names.find(choice.type, choice.name) !== undefined ||
      namesHosted(request.tools, choice.name)
    ) return undefined;
    return {
      param: "tool_choice",
      message:
        `tool_choice: no ${choice.type} tool named \`${choice.name}\` is among \`tools\``,
    };
  }
  if (!isAllowed(choice)) return undefined;
  const index = choice.tools.findIndex((entry) =>
    allows(entry, names, request.tools) === undefined
  );
  if (index < 0) return undefined;
  const param = `tool_choice.tools[${index}]`;
  return {
    param,
    message: `${param}: ${
      JSON.stringify(choice.tools[index])
    } names no tool among \`tools\``,
  };
}

/** The translation of a `tool_choice`. */
export interface ChatToolChoice {
  /** Chat's `tool_choice`. */
  choice: unknown;
  /** The chat names of the only tools to send, for `allowed_tools`. */
  allowed?: ReadonlySet<string>;
}

/**
 * Translates a `tool_choice`; see the module doc. A name that is not among
 * the tools (refused by {@link checkToolChoice}) becomes `auto`.
 */
export function toChatToolChoice(
  choice: ToolChoice,
  names: ToolNames,
  tools: Tools,
): ChatToolChoice {
  if (typeof choice === "string") return { choice };
  if (isNamed(choice)) {
    const name = names.find(choice.type, choice.name);
    return {
      choice: name === undefined
        ? "auto"
        : { type: "function", function: { name } },
    };
  }
  if (isAllowed(choice)) {
    const allowed = new Set(
      choice.tools.flatMap((entry) => allows(entry, names, tools) ?? []),
    );
    return { choice: choice.mode, allowed };
  }
  return { choice: "auto" };
}

/** The chat tools `allowed` keeps (all of them without a restriction). */
export function allowedOnly(
  tools: readonly ChatTool[],
  allowed: ReadonlySet<string> | undefined,
): ChatTool[] {
  if (!allowed) return [...tools];
  return tools.filter((tool) =>
    allowed.has((tool.function as { name: string }).name)
  );
}
