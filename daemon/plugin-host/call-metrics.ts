// What /metrics says about the plugin host: calls per plugin and verb with their outcome, how long they
// took (a histogram, measured from the request read to the result written), calls in flight, and calls
// not served here (declined: the launcher ran the plugin itself) or refused (a malformed frame, a
// caller not root).
import { Histogram, type MetricsRegistry, type Sample } from '../ops/metrics.ts';

/** Upper bounds of the latency buckets, in seconds: a warm ADD takes a few ms, a DEL tens. */
export const latencyBuckets = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];

/** Why a call was left to the launcher: another build, a plugin weftd does not carry, another host or files. */
export const declineReasons = ['build', 'plugin', 'view'] as const;
export type DeclineReason = (typeof declineReasons)[number];

const commands = new Set(['ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION']);

/** The label of a call's CNI_COMMAND: one of the spec's verbs, `none` or `other` (a bounded set). */
export function commandLabel(command: string | undefined): string {
  if (command === undefined || command === '') return 'none';
  return commands.has(command) ? command : 'other';
}

export class CallMetrics {
  private readonly outcomes = new Map<string, { labels: Record<string, string>; value: number }>();
  private readonly latencies = new Map<string, { labels: { plugin: string; command: string }; histogram: Histogram }>();
  private readonly declines = new Map<string, number>();
  inFlight = 0;
  refused = 0;

  record(plugin: string, command: string, exitCode: number, seconds: number): void {
    const result = exitCode === 0 ? 'success' : 'error';
    const outcomeKey = `${plugin} ${command} ${result}`;
    const outcome = this.outcomes.get(outcomeKey) ?? { labels: { plugin, command, result }, value: 0 };
    outcome.value++;
    this.outcomes.set(outcomeKey, outcome);
    const key = `${plugin} ${command}`;
    const latency = this.latencies.get(key) ?? { labels: { plugin, command }, histogram: new Histogram(latencyBuckets) };
    latency.histogram.observe(seconds);
    this.latencies.set(key, latency);
  }

  declined(reason: DeclineReason): void {
    this.declines.set(reason, (this.declines.get(reason) ?? 0) + 1);
  }

  register(registry: MetricsRegistry): void {
    registry.counter('weft_plugin_calls_total', 'Plugin calls weftd ran, by plugin, CNI command and result (success: exit 0).',
      () => [...this.outcomes.values()].map(({ labels, value }) => ({ labels, value })));
    registry.histogram('weft_plugin_call_duration_seconds', 'Time from a plugin call read to its result written.',
      (): Sample[] => [...this.latencies.values()].flatMap(({ labels, histogram }) => histogram.samples(labels)));
    registry.gauge('weft_plugin_calls_in_flight', 'Plugin calls running or waiting for a worker.', () => this.inFlight);
    registry.counter('weft_plugin_calls_declined_total', 'Plugin calls left to the launcher (it ran the plugin itself), by reason.',
      () => declineReasons.map((reason) => ({ labels: { reason }, value: this.declines.get(reason) ?? 0 })));
    registry.counter('weft_plugin_requests_refused_total', 'Connections refused: not root, or a malformed or oversized frame.', () => this.refused);
  }
}
