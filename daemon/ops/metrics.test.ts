import { describe, expect, it } from 'vitest';
import { Histogram, MetricsRegistry, type Sample } from './metrics.ts';

describe('MetricsRegistry', () => {
  it('renders the text exposition format with escaped labels', () => {
    const registry = new MetricsRegistry();
    registry.counter('weft_things_total', 'Things seen.\nSecond line \\ here.', () => 3);
    registry.gauge('weft_info', 'Labels.', (): Sample[] => [{ labels: { node: 'a"b', path: 'c\\d\ne' }, value: 1 }, { labels: { node: 'x' }, value: 0.5 }]);
    registry.gauge('weft_absent', 'Not known yet.', () => undefined);
    registry.gauge('weft_broken', 'Collector fails.', () => { throw new Error('no'); });
    registry.gauge('weft_inf', 'Infinite.', () => Infinity);
    expect(registry.render()).toBe([
      '# HELP weft_things_total Things seen.\\nSecond line \\\\ here.',
      '# TYPE weft_things_total counter',
      'weft_things_total 3',
      '# HELP weft_info Labels.',
      '# TYPE weft_info gauge',
      'weft_info{node="a\\"b",path="c\\\\d\\ne"} 1',
      'weft_info{node="x"} 0.5',
      '# HELP weft_inf Infinite.',
      '# TYPE weft_inf gauge',
      'weft_inf +Inf',
      '',
    ].join('\n'));
  });

  it('refuses bad and duplicate names', () => {
    const registry = new MetricsRegistry();
    expect(() => registry.counter('weft-bad', 'x', () => 1)).toThrow(/invalid metric name/);
    registry.counter('weft_ok', 'x', () => 1);
    expect(() => registry.gauge('weft_ok', 'x', () => 1)).toThrow(/registered twice/);
  });

  it('leaves detail series out unless asked, and renders histograms cumulatively', () => {
    const registry = new MetricsRegistry();
    registry.gauge('weft_peers_by_verdict', 'Counts.', () => [{ labels: { verdict: 'healthy' }, value: 2 }]);
    registry.gauge('weft_peer_path_verdict', 'By peer.', () => [{ labels: { peer: 'b' }, value: 1 }], { detail: true });
    const rtt = new Histogram([0.001, 0.01]);
    for (const v of [0.0004, 0.002, 0.003, 5]) rtt.observe(v);
    registry.histogram('weft_probe_rtt_seconds', 'RTT.', () => rtt.samples({ path: 'kernel' }));
    const plain = registry.render(false);
    expect(plain).not.toContain('weft_peer_path_verdict');
    expect(plain).toContain([
      '# TYPE weft_probe_rtt_seconds histogram',
      'weft_probe_rtt_seconds_bucket{path="kernel",le="0.001"} 1',
      'weft_probe_rtt_seconds_bucket{path="kernel",le="0.01"} 3',
      'weft_probe_rtt_seconds_bucket{path="kernel",le="+Inf"} 4',
      'weft_probe_rtt_seconds_sum{path="kernel"} 5.0054',
      'weft_probe_rtt_seconds_count{path="kernel"} 4',
    ].join('\n'));
    expect(registry.render(true)).toContain('weft_peer_path_verdict{peer="b"} 1');
  });
});
