// Prometheus metrics in the text exposition format (version 0.0.4), written by hand: a handful of
// counters and gauges does not need a client library. Metrics are pulled: each is registered with a
// function that reads the current value from the component that owns it, at scrape time.

export type MetricType = 'counter' | 'gauge';
export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  readonly labels?: Labels;
  readonly value: number;
}

interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly collect: () => number | readonly Sample[] | undefined;
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

export class MetricsRegistry {
  private readonly families = new Map<string, Family>();

  /**
   * Registers a metric read by `collect` at each scrape: a number, labelled samples, or undefined when
   * there is nothing to report yet (the metric is then left out).
   */
  register(name: string, type: MetricType, help: string, collect: Family['collect']): void {
    if (!namePattern.test(name)) throw new TypeError(`invalid metric name ${JSON.stringify(name)}`);
    if (this.families.has(name)) throw new TypeError(`metric ${name} is registered twice`);
    this.families.set(name, { name, help, type, collect });
  }

  counter(name: string, help: string, collect: Family['collect']): void {
    this.register(name, 'counter', help, collect);
  }

  gauge(name: string, help: string, collect: Family['collect']): void {
    this.register(name, 'gauge', help, collect);
  }

  /** The text a scrape gets. A metric whose collector throws is left out rather than failing the scrape. */
  render(): string {
    const out: string[] = [];
    for (const family of this.families.values()) {
      let collected: ReturnType<Family['collect']>;
      try {
        collected = family.collect();
      } catch {
        continue;
      }
      if (collected === undefined) continue;
      const samples: readonly Sample[] = typeof collected === 'number' ? [{ value: collected }] : collected;
      out.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
      for (const sample of samples) out.push(`${family.name}${formatLabels(sample.labels)} ${formatValue(sample.value)}`);
    }
    return `${out.join('\n')}\n`;
  }
}
