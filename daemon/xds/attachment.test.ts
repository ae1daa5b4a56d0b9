import { describe, expect, it } from 'vitest';
import type { DaemonContext } from '../daemon.ts';
import { Logger } from '../log.ts';
import { MetricsRegistry } from '../ops/metrics.ts';
import { xdsAttachment } from './attachment.ts';
import { EndpointSet } from './endpoint-set.ts';
import { TypeUrl } from './resource-types.ts';
import { AdsClient } from './testing/ads-client.ts';
import { endpoint } from '../../lib/weftd-api/testing/endpoints.ts';

describe('xdsAttachment', () => {
  it('serves ADS while attached, logs through the daemon and reports NACKs in its metrics', async () => {
    const lines: string[] = [];
    const log = new Logger('info', (line) => lines.push(line));
    const metrics = new MetricsRegistry();
    // The attachment reads only the logger and the metrics of the daemon's context.
    const context = { log, metrics } as unknown as DaemonContext;
    const endpoints = new EndpointSet([endpoint('echo', 'c1', 'n1', '10.0.0.1'), endpoint('web', 'w1', 'n1', '10.0.0.2', 80)]);
    const attachment = await xdsAttachment({ address: '127.0.0.1:0', endpointSource: endpoints })(context);
    try {
      const started = JSON.parse(lines.find((l) => l.includes('serving ADS'))!);
      expect(started).toMatchObject({ level: 'info', component: 'xds', address: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
      const client = new AdsClient(started.address);
      const stream = client.sotw();
      stream.send({ node: { id: 'n', cluster: '', user_agent_name: '' }, type_url: TypeUrl.Cluster, resource_names: [], version_info: '', response_nonce: '' });
      const response = await stream.next();
      stream.send({
        type_url: TypeUrl.Cluster, resource_names: [], version_info: '', response_nonce: response.nonce,
        error_detail: { code: 3, message: 'cluster refused' },
      });
      await stream.quietFor(200);
      const text = metrics.render();
      expect(text).toContain('weft_xds_streams 1');
      expect(text).toContain('weft_xds_nacks_total 1');
      expect(text).toContain('weft_xds_resources{type="envoy.config.cluster.v3.Cluster"} 2');
      expect(lines.some((l) => l.includes('"level":"warn"') && l.includes('cluster refused'))).toBe(true);
      client.close();
    } finally {
      await attachment.stop();
    }
  });
});
