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

/** A counter family with labels. */
class Counter {
  readonly #values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels: Record<string, string> = {}, by = 1): void {
    const key = labelText(labels);
    this.#values.set(key, (this.#values.get(key) ?? 0) + by);
  }
  render(): string {
    const lines = [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} counter`,
    ];
    for (const [labels, value] of this.#values) {
      lines.push(`${this.name}${labels} ${value}`);
    }
    return lines.join("\n");
  }
}

/** A histogram family with labels. */
class Histogram {
  readonly #series = new Map<
    string,
    {
      labels: Record<string, string>;
      counts: number[];
      sum: number;
      count: number;
    }
  >();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets = LATENCY_BUCKETS,
  ) {}
  observe(seconds: number, labels: Record<string, string> = {}): void {
    const key = labelText(labels);
    let s = this.#series.get(key);
    if (!s) {
      this.#series.set(
        key,
        s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 },
      );
    }
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
    for (const s of this.#series.values()) {
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

/** The class of an attempt outcome: `2xx`, `4xx`, `5xx`, `timeout`, `network`, `error_in_body`. */
export function outcomeClass(outcome: string): string {
  if (outcome === "ok") return "2xx";
  const status = /^(\d)\d\d$/.exec(outcome);
  if (status) return `${status[1]}xx`;
  if (outcome === "timeout" || outcome === "network error") {
    return outcome.split(" ")[0]!;
  }
  return "error_in_body";
}

/** freerouter's metrics. */
export class Metrics {
  readonly requests = new Counter(
    "freerouter_requests_total",
    "Requests answered, by outcome.",
  );
  readonly attempts = new Counter(
    "freerouter_upstream_attempts_total",
    "Upstream attempts, by model and status class.",
  );
  readonly fallbacks = new Counter(
    "freerouter_fallbacks_total",
    "Requests answered by a model other than the first tried.",
  );
  readonly upstreamLatency = new Histogram(
    "freerouter_upstream_latency_seconds",
    "Latency of upstream attempts.",
  );
  readonly streamTtfb = new Histogram(
    "freerouter_stream_ttfb_seconds",
    "Time to the first streamed event sent to the client.",
  );

  /** The exposition text, with gauges sampled now. */
  render(gauges: readonly GaugeSample[]): string {
    const parts = [
      this.requests,
      this.attempts,
      this.fallbacks,
      this.upstreamLatency,
      this.streamTtfb,
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
