// Prometheus metrics in the text exposition format (version 0.0.4), written by hand: a handful of
// counters and gauges does not need a client library. Metrics are pulled: each is registered with a
// function that reads the current value from the component that owns it, at scrape time.
//
// Series by peer grow with the cluster (about ten per peer: 50,000 lines a scrape at 5,000 nodes, more
// than a Prometheus server should take from one target): they are registered as detail, which a scrape
// gets only when it asks for it (GET /metrics?detail=peers) or the cluster is small. Aggregates over the
// peers (counts by verdict, a histogram of round-trip times) are always there.

export type MetricType = 'counter' | 'gauge' | 'histogram';
export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  readonly labels?: Labels;
  readonly value: number;
  /** A histogram's series: _bucket (with an "le" label), _sum or _count. */
  readonly suffix?: '_bucket' | '_sum' | '_count';
}

interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly collect: () => number | readonly Sample[] | undefined;
  /** Series by peer, left out unless a scrape asks for detail. */
  readonly detail: boolean;
}

export interface RegisterOptions {
  readonly detail?: boolean;
}

const namePattern = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelPattern = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function formatLabels(labels: Labels | undefined): string {
  const entries = Object.entries(labels ?? {});
  if (entries.length === 0) return '';
  for (const [key] of entries) if (!labelPattern.test(key)) throw new TypeError(`invalid label name ${JSON.stringify(key)}`);
  return `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

/** Observations counted into buckets, for a histogram metric (cumulative, as Prometheus reads them). */
export class Histogram {
  private readonly counts: number[];
  private sum = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
  }

  samples(labels: Labels = {}): Sample[] {
    let cumulative = 0;
    const samples: Sample[] = this.bounds.map((le, i) => {
      cumulative += this.counts[i]!;
      return { suffix: '_bucket', labels: { ...labels, le: formatValue(le) }, value: cumulative };
    });
    cumulative += this.counts[this.bounds.length]!;
    samples.push({ suffix: '_bucket', labels: { ...labels, le: '+Inf' }, value: cumulative });
    samples.push({ suffix: '_sum', labels, value: this.sum }, { suffix: '_count', labels, value: cumulative });
    return samples;
  }
}

export class MetricsRegistry {
  private readonly families = new Map<string, Family>();

  /**
   * Registers a metric read by `collect` at each scrape: a number, labelled samples, or undefined when
   * there is nothing to report yet (the metric is then left out).
   */
  register(name: string, type: MetricType, help: string, collect: Family['collect'], options: RegisterOptions = {}): void {
    if (!namePattern.test(name)) throw new TypeError(`invalid metric name ${JSON.stringify(name)}`);
    if (this.families.has(name)) throw new TypeError(`metric ${name} is registered twice`);
    this.families.set(name, { name, help, type, collect, detail: options.detail ?? false });
  }

  counter(name: string, help: string, collect: Family['collect'], options?: RegisterOptions): void {
    this.register(name, 'counter', help, collect, options);
  }

  gauge(name: string, help: string, collect: Family['collect'], options?: RegisterOptions): void {
    this.register(name, 'gauge', help, collect, options);
  }

  /** A histogram: `collect` gives its samples (Histogram.samples). */
  histogram(name: string, help: string, collect: () => readonly Sample[] | undefined): void {
    this.register(name, 'histogram', help, collect);
  }

  /**
   * The text a scrape gets; detail series only with `detail`. A metric whose collector throws is left out
   * rather than failing the scrape.
   */
  render(detail = true): string {
    const out: string[] = [];
    for (const family of this.families.values()) {
      if (family.detail && !detail) continue;
      let collected: ReturnType<Family['collect']>;
      try {
        collected = family.collect();
      } catch {
        continue;
      }
      if (collected === undefined) continue;
      const samples: readonly Sample[] = typeof collected === 'number' ? [{ value: collected }] : collected;
      out.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
      for (const sample of samples) out.push(`${family.name}${sample.suffix ?? ''}${formatLabels(sample.labels)} ${formatValue(sample.value)}`);
    }
    return `${out.join('\n')}\n`;
  }
}
