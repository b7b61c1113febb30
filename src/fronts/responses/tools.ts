/**
 * Responses tools ↔ chat completion function tools.
 *
 * - `function` tools become chat function tools under their own name
 *   (`strict` kept when set; a missing `parameters` becomes an empty object
 *   schema).
 * - `custom` tools (free-form text input; Codex's `apply_patch`) become a
 *   function with one required string parameter, `input`. The description is
 *   kept; the grammar (`format`) has no chat equivalent and is dropped. Calls
 *   come back as `custom_tool_call` items whose `input` is that parameter.
 * - A `namespace` group's function and custom tools are flattened, always
 *   named `<namespace>__<name>`, and map back to `name` plus `namespace` on the
 *   output items (the SDK's `function_call` and `custom_tool_call` carry a
 *   `namespace` field). The namespace's description prefixes each tool's.
 * - Every other tool type is hosted by OpenAI (`web_search`, `file_search`,
 *   `tool_search`, `computer_use_preview`, `code_interpreter`,
 *   `image_generation`, `mcp`, `local_shell`, `shell`, `apply_patch`, …): it
 *   is dropped and its type listed, once, in `droppedTools`.
 *
 * Chat names are unique: top-level names are used as they are; a later tool
 * whose chat name is taken gets `_2`, `_3`, … appended.
 *
 * `tool_choice` is translated, and checked against these tools, in
 * `tool_choice.ts`.
 *
 * @module
 */
import {
  CLIENT_TOOL_TYPES,
  type ClientTool,
  type CustomToolDef,
  type FunctionToolDef,
  type ResponsesRequest,
} from "./schema.ts";

/** What a chat tool name stands for in the Responses request. */
export interface ToolTarget {
  /** `function` tools answer with `function_call`, `custom` ones with `custom_tool_call`. */
  kind: "function" | "custom";
  /** The tool's own name. */
  name: string;
  /** The namespace group it came from, if any. */
  namespace?: string;
}

/**
 * The two-way map between the Responses request's tools and the chat tool
 * names sent upstream. Built by `toChatRequest`, read by the response and
 * stream translators.
 */
export class ToolNames {
  #byChatName = new Map<string, ToolTarget>();
  #byKey = new Map<string, string>();
  /** Chat names by the tools' own names, in registration order. */
  #byName = new Map<string, string[]>();
  /** Chat names of each namespace group's tools. */
  #groups = new Map<string, string[]>();

  /** Registers a tool and returns its (unique) chat name. */
  add(target: ToolTarget): string {
    const base = target.namespace === undefined
      ? target.name
      : `${target.namespace}__${target.name}`;
    let chatName = base;
    for (let n = 2; this.#byChatName.has(chatName); n++) {
      chatName = `${base}_${n}`;
    }
    this.#byChatName.set(chatName, target);
    this.#byKey.set(keyOf(target.name, target.namespace), chatName);
    push(this.#byName, target.name, chatName);
    if (target.namespace !== undefined) {
      push(this.#groups, target.namespace, chatName);
    }
    return chatName;
  }

  /**
   * The chat name of a declared tool of `kind` called `name`, as
   * `tool_choice` names one (without a namespace): the top-level tool, else
   * the first namespaced one; `undefined` when there is none.
   */
  find(kind: ToolTarget["kind"], name: string): string | undefined {
    return this.#byName.get(name)?.find((chatName) =>
      this.#byChatName.get(chatName)?.kind === kind
    );
  }

  /** The chat names of a namespace group's tools; `undefined` for none. */
  group(namespace: string): readonly string[] | undefined {
    return this.#groups.get(namespace);
  }

  /** The tool a chat name stands for; an unknown name is a plain function. */
  target(chatName: string): ToolTarget {
    return this.#byChatName.get(chatName) ??
      { kind: "function", name: chatName };
  }

  /**
   * The chat name of a tool named in an input item (`function_call`,
   * `custom_tool_call`, `tool_choice`). A tool the request does not declare
   * keeps its name (prefixed by its namespace).
   */
  chatName(name: string, namespace?: string | null): string {
    const ns = namespace ?? undefined;
    return this.#byKey.get(keyOf(name, ns)) ??
      (ns === undefined ? name : `${ns}__${name}`);
  }
}

function keyOf(name: string, namespace: string | undefined): string {
  return namespace === undefined ? name : `${namespace}\u0000${name}`;
}

function push(map: Map<string, string[]>, key: string, value: string): void {
  const values = map.get(key);
  if (values) values.push(value);
  else map.set(key, [value]);
}

/** A chat completion function tool. */
export type ChatTool = Record<string, unknown>;

const EMPTY_PARAMETERS = { type: "object", properties: {} } as const;

function describe(
  own: string | null | undefined,
  group: string | null | undefined,
): string | undefined {
  if (group && own) return `${group}\n\n${own}`;
  return (group || own) ?? undefined;
}

function functionTool(
  tool: FunctionToolDef,
  chatName: string,
  groupDescription?: string | null,
): ChatTool {
  const description = describe(tool.description, groupDescription);
  return {
    type: "function",
    function: {
      name: chatName,
      ...(description === undefined ? {} : { description }),
      parameters: tool.parameters ?? EMPTY_PARAMETERS,
      ...(typeof tool.strict === "boolean" ? { strict: tool.strict } : {}),
    },
  };
}

function customTool(
  tool: CustomToolDef,
  chatName: string,
  groupDescription?: string | null,
): ChatTool {
  const description = describe(tool.description, groupDescription);
  return {
    type: "function",
    function: {
      name: chatName,
      ...(description === undefined ? {} : { description }),
      parameters: {
        type: "object",
        properties: {
          input: {
            type: "string",
            description: `The raw input of the \`${tool.name}\` tool.`,
          },
        },
        required: ["input"],
        additionalProperties: false,
      },
    },
  };
}

/** The translated tools. */
export interface ChatTools {
  /** Chat function tools, in request order (namespaced ones last). */
  tools: ChatTool[];
  /** Types of the hosted tools dropped, each once, in request order. */
  droppedTools: string[];
  /** Names back and forth. */
  names: ToolNames;
}

/** Translates `request.tools`; see the module doc. */
export function toChatTools(request: ResponsesRequest): ChatTools {
  const names = new ToolNames();
  const tools: ChatTool[] = [];
  const dropped = new Set<string>();
  const groups: Array<Extract<ClientTool, { type: "namespace" }>> = [];
  for (const raw of request.tools ?? []) {
    if (!CLIENT_TOOL_TYPES.has(raw.type)) {
      dropped.add(raw.type);
      continue;
    }
    const tool = raw as ClientTool;
    if (tool.type === "namespace") groups.push(tool);
    else tools.push(translate(tool, names));
  }
  // Namespaced tools after the top-level ones, so that top-level names stay
  // exactly as the client sent them.
  for (const group of groups) {
    for (const tool of group.tools) {
      tools.push(translate(tool, names, group.name, group.description));
    }
  }
  return { tools, droppedTools: [...dropped], names };
}

function translate(
  tool: FunctionToolDef | CustomToolDef,
  names: ToolNames,
  namespace?: string,
  groupDescription?: string | null,
): ChatTool {
  const chatName = names.add({
    kind: tool.type,
    name: tool.name,
    ...(namespace === undefined ? {} : { namespace }),
  });
  return tool.type === "function"
    ? functionTool(tool, chatName, groupDescription)
    : customTool(tool, chatName, groupDescription);
}
