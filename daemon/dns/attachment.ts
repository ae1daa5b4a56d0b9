// weftd's DNS server as an attachment: started once the lease is held (the gateways are the lease's), it
// answers on this node's gateway addresses, from the zone of every node's endpoints (as the node health
// view allows) and, for other names, from the host's resolvers through the cache. Counted in /metrics
// (weft_dns_*). The resolv.conf is read again every 30 s, so a host whose resolvers change is followed.
import { readBoundedFile } from '../../lib/files/bounded-read.ts';
import { formatIp, tryParseIp, type IpAddress } from '../../lib/ip/address.ts';
import { netContains, parseCidr, type IpNet } from '../../lib/ip/cidr.ts';
import { KernelWatch } from '../../lib/netlink/index.ts';
import type { Attach, DaemonContext } from '../daemon.ts';
import type { NodeHealthView } from '../health/node-health.ts';
import type { Lease } from '../lease/lease.ts';
import type { MetricsRegistry } from '../ops/metrics.ts';
import { gatewayForm } from '../../lib/weftd-api/subnet-env.ts';
import type { EndpointSource } from '../../lib/weftd-api/endpoint.ts';
import { AnswerCache } from './answer-cache.ts';
import { DnsStats } from './dns-stats.ts';
import { EncodedAnswers } from './encoded-answers.ts';
import { Forwarder } from './forwarder.ts';
import { DnsListeners } from './listeners.ts';
import { respond } from './responder.ts';
import { maxResolvConfBytes, upstreamsFrom, type Upstream } from './upstreams.ts';
import { ZoneSource } from './zone-source.ts';

export interface DnsAttachmentOptions {
  readonly endpoints: EndpointSource;
  readonly health: NodeHealthView;
  /** The host's resolv.conf: where other names are forwarded. */
  readonly resolvConf: string;
  readonly port?: number;
}

const upstreamRefreshMs = 30_000;
const bindRetryMs = 1_000;

/** This node's gateway addresses: the first address of each of its subnets. */
export function gatewayAddresses(lease: Lease | undefined): string[] {
  if (!lease) return [];
  return [lease.subnet, lease.ipv6Subnet].flatMap((subnet) => (subnet ? [formatIp(gatewayForm(parseCidr(subnet)).address)] : []));
}

function registerDnsMetrics(registry: MetricsRegistry, stats: DnsStats, cache: AnswerCache, listeners: DnsListeners): void {
  registry.counter('weft_dns_queries_total', 'DNS queries answered, by query type and response code.', () => [...stats.answers].map(([key, value]) => {
    const [type, rcode] = key.split(' ') as [string, string];
    return { labels: { type, rcode }, value };
  }));
  registry.counter('weft_dns_dropped_total', 'DNS messages left unanswered: too short, a response, or from outside the overlay.', () => stats.dropped);
  registry.counter('weft_dns_forwarded_total', 'DNS questions outside the zone sent to the host\'s resolvers (cache misses).', () => stats.forwarded);
  registry.counter('weft_dns_upstream_failures_total', 'Forwarded DNS questions no upstream answered (answered SERVFAIL).', () => stats.upstreamFailures);
  registry.counter('weft_dns_cache_hits_total', 'DNS questions outside the zone answered from the cache.', () => stats.cacheHits);
  registry.gauge('weft_dns_cache_entries', 'Forwarded answers cached now.', () => cache.size);
  registry.gauge('weft_dns_listening_addresses', 'Gateway addresses the DNS server answers on now.', () => listeners.listening.length);
}

/** The overlay networks, whose addresses are the only clients answered. */
function overlayNetworks(context: DaemonContext): IpNet[] {
  return [context.config.network, ...(context.config.ipv6 ? [context.config.ipv6.network] : [])];
}

export function dnsAttachment(options: DnsAttachmentOptions): Attach {
  return async (context) => {
    const log = context.log.child({ component: 'dns' });
    const networks = overlayNetworks(context);
    const inOverlay = (ip: IpAddress) => networks.some((net) => netContains(net, ip));
    const stats = new DnsStats();
    const cache = new AnswerCache();
    const encoded = new EncodedAnswers();
    const zones = new ZoneSource(options.endpoints, options.health, { domain: context.config.domain, networks });

    let upstreams: Upstream[] = [];
    const readUpstreams = () => {
      try {
        const next = upstreamsFrom(readBoundedFile(options.resolvConf, { maxBytes: maxResolvConfBytes }), inOverlay);
        if (next.length === 0) log.warn('no resolver to forward to: names outside the zone are answered SERVFAIL', { resolvConf: options.resolvConf });
        else if (JSON.stringify(next) !== JSON.stringify(upstreams)) log.info('forwarding to the host\'s resolvers', { upstreams: next.map((u) => u.address) });
        upstreams = next;
      } catch (err) {
        log.warn('cannot read the host\'s resolvers; keeping the last ones', { resolvConf: options.resolvConf, error: err });
      }
    };
    readUpstreams();
    const forwarder = new Forwarder({ upstreams: () => upstreams, cache, stats });

    const listeners = new DnsListeners({
      port: options.port ?? 53, log, stats,
      allowed: (address) => {
        const ip = tryParseIp(address);
        return ip !== undefined && inOverlay(ip);
      },
      respond: (message, transport) => respond(message, transport, { zone: () => zones.current(), forward: (q) => forwarder.resolve(q), stats, encoded }),
    });
    registerDnsMetrics(context.metrics, stats, cache, listeners);
    const follow = () => {
      listeners.setAddresses(gatewayAddresses(context.leases.lease));
      void listeners.bindMissing();
    };
    follow();
    const unsubscribe = context.leases.subscribe((event) => {
      if (event.reason === 'own-lease') follow();
    });
    // The bridge gets its gateway address with the first container: bind as soon as the kernel says so.
    const watch = KernelWatch.open(undefined, ['address'], {
      onChanges: () => void listeners.bindMissing(),
      onLost: () => void listeners.bindMissing(),
    });
    const retry = setInterval(() => {
      if (listeners.unbound.length > 0) void listeners.bindMissing();
    }, bindRetryMs);
    const refresh = setInterval(readUpstreams, upstreamRefreshMs);
    return {
      stop: async () => {
        clearInterval(retry);
        clearInterval(refresh);
        unsubscribe();
        watch.close();
        zones.close();
        await listeners.close();
      },
    };
  };
}
