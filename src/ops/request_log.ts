/**
 * What freerouter remembers and logs about each request: one record with the
 * request id, route, status, chosen model, every attempt and the latency, but
 * never a key and never message content.
 *
 * @module
 */
import type { Attempt } from "../errors.ts";

/** The API fronts freerouter serves over the one router. */
export type Api = "chat" | "messages" | "responses";

/** One answered request. */
export interface RequestRecord {
  /** The request id (`X-Request-Id`). */
  id: string;
  /** When it arrived, ISO 8601. */
  at: string;
  /** Which API the client spoke: chat completions, Anthropic Messages or OpenAI Responses. */
  api: Api;
  /** HTTP method. */
  method: string;
  /** The path, without the query. */
  path: string;
  /** The status freerouter answered with. */
  status: number;
  /** The model that answered, if any. */
  model: string | null;
  /** Every upstream attempt. */
  attempts: Attempt[];
  /** Time until the response (streams: until the first event was committed), ms. */
  latency_ms: number;
  /** Whether the client asked for a stream. */
  stream: boolean;
  /**
   * freerouter's error code, when it answered with an error; `stream_broken`
   * for a stream that ended with an error event after its 200.
   */
  error: string | null;
}

/**
 * A record as kept: the arrival time as epoch ms, formatted only when the
 * list is read (most records are overwritten before anyone reads them).
 */
export type RequestEntry = Omit<RequestRecord, "at"> & { arrived: number };

/** The last `size` requests, newest first. */
export class RecentRequests {
  /** A ring: the newest entry is at `#next - 1`. */
  readonly #items: RequestEntry[] = [];
  #next = 0;
  constructor(readonly size = 50) {}
  push(entry: RequestEntry): void {
    this.#items[this.#next] = entry;
    this.#next = (this.#next + 1) % this.size;
  }
  list(): readonly RequestRecord[] {
    const items = this.#items;
    const newest: RequestRecord[] = [];
    for (let i = 1; i <= items.length; i++) {
      const { id, arrived, ...rest } =
        items[(this.#next - i + this.size) % this.size]!;
      newest.push({ id, at: new Date(arrived).toISOString(), ...rest });
    }
    return newest;
  }
}

const SAFE_ID = /^[A-Za-z0-9._:\-]{1,128}$/;

/** The client's `X-Request-Id` when it is a reasonable token, else a new UUID. */
export function requestIdOf(req: Request): string {
  const given = req.headers.get("x-request-id");
  return given !== null && SAFE_ID.test(given) ? given : crypto.randomUUID();
}

/** The log line fields of a record. */
export function logFields(record: RequestEntry): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    request_id: record.id,
    api: record.api,
    method: record.method,
    path: record.path,
    status: record.status,
    model: record.model,
    attempts: record.attempts.map((a) => `${a.model}=${a.outcome}`).join(","),
    latency_ms: record.latency_ms,
    stream: record.stream,
  };
  if (record.error) fields.error = record.error;
  return fields;
}
