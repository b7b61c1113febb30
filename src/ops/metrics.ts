/**
 * Prometheus metrics: a few counters and histograms kept in memory and
 * rendered in the text exposition format. No dependency, no I/O.
 *
 * @module
 */

const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

const SPECIAL = /[\\"\n]/;

function escapeLabel(value: string): string {
  if (!SPECIAL.test(value)) return value;
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(
    /\n/g,
    "\\n",
  );
}

function labelText(labels: Record<string, string>): string {
  let text = "";
  for (const k in labels) {
    text += `${text === "" ? "{" : ","}${k}="${escapeLabel(labels[k]!)}"`;
  }
  return text === "" ? "" : `${text}}`;
}

/**
 * The series of one metric family, found by their label values: a tree of
 * maps, one level per label name, so counting an event builds no key string.
 */
class SeriesSet<S extends { labels: Record<string, string> }> {
  readonly #root = new Map<string, unknown>();
  readonly #all: S[] = [];
  constructor(
    readonly labelNames: readonly string[],
    readonly create: (labels: Record<string, string>) => S,
  ) {}

  /** The series for `labels` (which carry every label name), created on first use. */
  get(labels: Record<string, string>): S {
    const names = this.labelNames;
    let level = this.#root;
    for (let i = 0; i < names.length - 1; i++) {
      const value = labels[names[i]!]!;
      let next = level.get(value) as Map<string, unknown> | undefined;
      if (next === undefined) level.set(value, next = new Map());
      level = next;
    }
    const last = names.length === 0 ? "" : labels[names[names.length - 1]!]!;
    let series = level.get(last) as S | undefined;
    if (series === undefined) {
      const own: Record<string, string> = {};
      for (const name of names) own[name] = labels[name]!;
      level.set(last, series = this.create(own));
      this.#all.push(series);
    }
    return series;
  }

  /** Every series, in creation order. */
  get all(): readonly S[] {
    return this.#all;
  }
}

const NO_LABELS: Record<string, string> = {};

/** A counter family with labels. */
class Counter {
  readonly #series: SeriesSet<
    { labels: Record<string, string>; value: number }
  >;
  constructor(
    readonly name: string,
    readonly help: string,
    labelNames: readonly string[] = [],
  ) {
    this.#series = new SeriesSet(
      labelNames,
      (labels) => ({ labels, value: 0 }),
    );
  }
  inc(labels: Record<string, string> = NO_LABELS, by = 1): void {
    this.#series.get(labels).value += by;
  }
  render(): string {
    const lines = [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} counter`,
    ];
    for (const s of this.#series.all) {
      lines.push(`${this.name}${labelText(s.labels)} ${s.value}`);
    }
    return lines.join("\n");
  }
}

interface HistogramSeries {
  labels: Record<string, string>;
  counts: number[];
  sum: number;
  count: number;
}

/** A histogram family with labels. */
class Histogram {
  readonly #series: SeriesSet<HistogramSeries>;
  constructor(
    readonly name: string,
    readonly help: string,
    labelNames: readonly string[] = [],
    readonly buckets: readonly number[] = LATENCY_BUCKETS,
  ) {
    this.#series = new SeriesSet(labelNames, (labels) => ({
      labels,
      counts: buckets.map(() => 0),
      sum: 0,
      count: 0,
    }));
  }
  observe(seconds: number, labels: Record<string, string> = NO_LABELS): void {
    const s = this.#series.get(labels);
    for (let i = 0; i < this.buckets.length; i++) {
      if (seconds <= this.buckets[i]!) s.counts[i]!++;
    }
    s.sum += seconds;
    s.count++;
  }
  render(): string {
    const lines = [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} histogram`,
    ];
    for (const s of this.#series.all) {
      this.buckets.forEach((le, i) =>
        lines.push(
          `${this.name}_bucket${labelText({ ...s.labels, le: String(le) })} ${
            s.counts[i]
          }`,
        )
      );
      lines.push(
        `${this.name}_bucket${
          labelText({ ...s.labels, le: "+Inf" })
        } ${s.count}`,
      );
      lines.push(`${this.name}_sum${labelText(s.labels)} ${s.sum}`);
      lines.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return lines.join("\n");
  }
}

/** A gauge read at scrape time. */
export interface GaugeSample {
  name: string;
  help: string;
  values: Array<{ labels?: Record<string, string>; value: number }>;
}

/** The class of an attempt outcome: `2xx`, `4xx`, `5xx`, `timeout`, `network`, `aborted` (the client went away), `error_in_body`. */
export function outcomeClass(outcome: string): string {
  if (outcome === "ok") return "2xx";
  const status = /^(\d)\d\d$/.exec(outcome);
  if (status) return `${status[1]}xx`;
  if (
    outcome === "timeout" || outcome === "network error" ||
    outcome === "aborted"
  ) {
    return outcome.split(" ")[0]!;
  }
  return "error_in_body";
}

/** freerouter's metrics. */
export class Metrics {
  readonly requests = new Counter(
    "freerouter_requests_total",
    "Requests answered, by outcome.",
    ["route", "outcome"],
  );
  readonly attempts = new Counter(
    "freerouter_upstream_attempts_total",
    "Upstream attempts, by model and status class.",
    ["model", "class"],
  );
  readonly fallbacks = new Counter(
    "freerouter_fallbacks_total",
    "Requests answered by a model other than the first tried.",
  );
  readonly upstreamLatency = new Histogram(
    "freerouter_upstream_latency_seconds",
    "Latency of upstream attempts.",
    ["model"],
  );
  readonly streamTtfb = new Histogram(
    "freerouter_stream_ttfb_seconds",
    "Time to the first streamed event sent to the client.",
  );
  readonly cache = new Counter(
    "freerouter_cache_requests_total",
    "Requests seen by the response cache, by result (hit, miss, coalesced, bypass).",
    ["result"],
  );
  readonly resumes = new Counter(
    "freerouter_stream_resumes_total",
    "Committed streams that broke, by whether another model continued them.",
    ["outcome"],
  );
  readonly streamsCut = new Counter(
    "freerouter_streams_cut_total",
    "Committed streams that ended short of their answer, by how (broken: the client got an error event; client_closed).",
    ["how"],
  );

  /** The exposition text, with gauges sampled now. */
  render(gauges: readonly GaugeSample[]): string {
    const parts = [
      this.requests,
      this.attempts,
      this.fallbacks,
      this.upstreamLatency,
      this.streamTtfb,
      this.resumes,
      this.streamsCut,
      this.cache,
    ].map((m) => m.render());
    for (const g of gauges) {
      const lines = [`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`];
      for (const v of g.values) {
        lines.push(`${g.name}${labelText(v.labels ?? {})} ${v.value}`);
      }
      parts.push(lines.join("\n"));
    }
    return `${parts.join("\n")}\n`;
  }
}
