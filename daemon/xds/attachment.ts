// The xDS server as a weftd attachment: started once the daemon holds its lease, stopped with it, logging
// through the daemon's logger and counted in its /metrics (weft_xds_*; NACKs in weft_xds_nacks_total).
import type { Attach } from '../daemon.ts';
import type { MetricsRegistry } from '../ops/metrics.ts';
import type { EndpointSource } from '../../lib/weftd-api/endpoint.ts';
import { messageName, pushOrder } from './resource-types.ts';
import { createXdsServer, type XdsServerHandle } from './server.ts';

export interface XdsAttachmentOptions {
  /** Where to serve ADS: "host:port" or "unix:/path". */
  readonly address: string;
  /** The endpoints of all nodes. */
  readonly endpointSource: EndpointSource;
  readonly coalesceMs?: number;
}

export function registerXdsMetrics(registry: MetricsRegistry, server: XdsServerHandle): void {
  const stats = () => server.stats();
  registry.gauge('weft_xds_streams', 'xDS streams open now.', () => stats().activeStreams);
  registry.counter('weft_xds_streams_total', 'xDS streams opened.', () => stats().streams);
  registry.counter('weft_xds_responses_total', 'xDS responses sent.', () => stats().responses);
  registry.counter('weft_xds_acks_total', 'xDS responses clients accepted.', () => stats().acks);
  registry.counter('weft_xds_nacks_total', 'xDS responses clients rejected; they keep their previous version.', () => stats().nacks);
  registry.counter('weft_xds_stale_requests_total', 'xDS requests ignored for answering an overtaken response.', () => stats().staleRequests);
  registry.gauge('weft_xds_resources', 'xDS resources served, by type.',
    () => pushOrder.map((typeUrl) => ({ labels: { type: messageName(typeUrl) }, value: server.cache.size(typeUrl) })));
}

/** An attachment for `new Daemon(options, log, [xdsAttachment(...)])`. */
export function xdsAttachment(options: XdsAttachmentOptions): Attach {
  return async (context) => {
    const server = createXdsServer({ ...options, logger: context.log.child({ component: 'xds' }) });
    registerXdsMetrics(context.metrics, server);
    await server.start();
    return { stop: () => server.stop() };
  };
}
