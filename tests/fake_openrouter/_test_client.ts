/**
 * A client of the fake OpenRouter for the fake's own tests.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { FakeOpenRouter } from "./mod.ts";

/** The OpenRouter key the tests send. */
export const KEY = "sk-or-v1-0123456789abcdef0123456789abcdef";
/** Rows of the default catalog the tests name. */
export const CODER = "qwen/qwen3-coder:free";
export const LLAMA = "meta-llama/llama-3.3-70b-instruct:free";
export const NO_TOOLS = "meta-llama/llama-3.2-3b-instruct:free";

/** A JSON object. */
export type Json = Record<string, unknown>;

/** Whether a value is a JSON object. */
export function isRecord(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Asserts a value is a JSON object. */
export function rec(v: unknown): Json {
  assert.ok(isRecord(v), `expected an object, got ${JSON.stringify(v)}`);
  return v;
}

/** Asserts a value is an array. */
export function arr(v: unknown): unknown[] {
  assert.ok(Array.isArray(v), `expected an array, got ${JSON.stringify(v)}`);
  return v;
}

/** Options of {@linkcode chat}. */
export interface ChatInit {
  headers?: Record<string, string>;
  signal?: AbortSignal;
  auth?: boolean;
}

/** POSTs a chat completion body to the fake (with {@linkcode KEY} unless `auth: false`). */
export function chat(
  fake: FakeOpenRouter,
  body: Json,
  init: ChatInit = {},
): Promise<Response> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    ...init.headers,
  };
  if (init.auth !== false) headers.authorization = `Bearer ${KEY}`;
  return fetch(`${fake.baseUrl}/chat/completions`, {
    method: "POST",
    headers,
    body: JSON.stringify(body),
    signal: init.signal,
  });
}

/** A one-message conversation. */
export function messages(): Json[] {
  return [{ role: "user", content: "hi" }];
}

/** A response's JSON object. */
export async function json(res: Response): Promise<Json> {
  return rec(await res.json());
}

/** The `error` object of an error body. */
export function errorOf(body: Json): Json {
  return rec(body.error);
}
