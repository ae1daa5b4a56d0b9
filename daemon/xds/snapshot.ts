// From endpoints to xDS resources, with no effects: per service one Cluster (EDS over ADS), one
// ClusterLoadAssignment with a locality per node, and the Listener + RouteConfiguration a proxyless gRPC
// client resolves `xds:///<service>` through. All four resources of a service are named after it. Endpoints
// of containers that serve no service have none (DNS alone names them).
import { receivesTraffic, servingPort, type Endpoint, type EndpointHealth } from '../../lib/weftd-api/endpoint.ts';
import type {
  Cluster, ClusterLoadAssignment, ConfigSource, HealthStatus, LbEndpoint, Listener, LocalityLbEndpoints,
  RouteConfiguration,
} from './envoy-resources.ts';
import { TypeUrl } from './resource-types.ts';

export interface Snapshot {
  readonly [TypeUrl.Listener]: ReadonlyMap<string, Listener>;
  readonly [TypeUrl.RouteConfiguration]: ReadonlyMap<string, RouteConfiguration>;
  readonly [TypeUrl.Cluster]: ReadonlyMap<string, Cluster>;
  readonly [TypeUrl.ClusterLoadAssignment]: ReadonlyMap<string, ClusterLoadAssignment>;
}

export interface SkippedEndpoint {
  readonly endpoint: Endpoint;
  readonly reason: string;
}

export interface BuiltSnapshot {
  readonly snapshot: Snapshot;
  /** Endpoints left out, each with the reason, for the daemon to log. */
  readonly skipped: readonly SkippedEndpoint[];
}

const adsSource: ConfigSource = { ads: {}, resource_api_version: 'V3' };
const httpProtocolOptions = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const routerFilter = 'envoy.extensions.filters.http.router.v3.Router';
const connectionManager = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
/** Metadata namespaces on each LbEndpoint: weft's own fields, and the endpoint's labels. */
export const endpointMetadata = 'weft';
export const labelMetadata = 'weft.labels';

const healthStatus: Record<EndpointHealth, HealthStatus> = {
  healthy: 'HEALTHY',
  unhealthy: 'UNHEALTHY',
  draining: 'DRAINING',
  unknown: 'UNKNOWN',
};

function cluster(service: string): Cluster {
  return {
    name: service,
    type: 'EDS',
    eds_cluster_config: { eds_config: adsSource },
    lb_policy: 'ROUND_ROBIN',
    // An Envoy in front of a gRPC service must speak HTTP/2 upstream: use what the downstream spoke.
    typed_extension_protocol_options: {
      [httpProtocolOptions]: {
        '@type': `type.googleapis.com/${httpProtocolOptions}`,
        use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} },
      },
    },
  };
}

function lbEndpoint(endpoint: Endpoint, port: number): LbEndpoint {
  const labels = Object.keys(endpoint.labels).sort();
  const filterMetadata: Record<string, { fields: Record<string, { stringValue: string }> }> = {
    [endpointMetadata]: { fields: { container_id: { stringValue: endpoint.containerId }, node: { stringValue: endpoint.node } } },
  };
  if (labels.length > 0) {
    filterMetadata[labelMetadata] = { fields: Object.fromEntries(labels.map((k) => [k, { stringValue: endpoint.labels[k]! }])) };
  }
  return {
    endpoint: { address: { socket_address: { address: endpoint.address, port_value: port } } },
    health_status: healthStatus[endpoint.health],
    metadata: { filter_metadata: filterMetadata },
  };
}

/** One locality per node; gRPC drops a locality without a weight, so every one gets its serving count. */
function loadAssignment(service: string, members: readonly { endpoint: Endpoint; port: number }[]): ClusterLoadAssignment {
  const byNode = new Map<string, { endpoint: Endpoint; port: number }[]>();
  for (const member of members) {
    const list = byNode.get(member.endpoint.node) ?? [];
    list.push(member);
    byNode.set(member.endpoint.node, list);
  }
  const localities: LocalityLbEndpoints[] = [...byNode.keys()].sort().map((node) => {
    const here = byNode.get(node)!;
    return {
      locality: { region: '', zone: '', sub_zone: node },
      lb_endpoints: here.map((m) => lbEndpoint(m.endpoint, m.port)),
      // Weighting localities by their serving endpoints spreads calls evenly over endpoints, not nodes.
      load_balancing_weight: { value: Math.max(1, here.filter((m) => receivesTraffic(m.endpoint)).length) },
    };
  });
  return { cluster_name: service, endpoints: localities };
}

function listener(service: string): Listener {
  return {
    name: service,
    api_listener: {
      api_listener: {
        '@type': `type.googleapis.com/${connectionManager}`,
        stat_prefix: service,
        rds: { config_source: adsSource, route_config_name: service },
        http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': `type.googleapis.com/${routerFilter}` } }],
      },
    },
  };
}

function route(service: string): RouteConfiguration {
  return {
    name: service,
    // The listener is the service's own, so its one virtual host takes every authority.
    virtual_hosts: [{ name: service, domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: service } }] }],
  };
}

interface ServiceResources {
  readonly listener: Listener;
  readonly route: RouteConfiguration;
  readonly cluster: Cluster;
  readonly loadAssignment: ClusterLoadAssignment;
  readonly skipped: readonly SkippedEndpoint[];
}

function compareMembers(a: Endpoint, b: Endpoint): number {
  if (a.node !== b.node) return a.node < b.node ? -1 : 1;
  return a.containerId < b.containerId ? -1 : a.containerId > b.containerId ? 1 : 0;
}

/** The four resources of one service from its endpoints, in any order. */
function buildService(service: string, endpoints: readonly Endpoint[]): ServiceResources {
  const skipped: SkippedEndpoint[] = [];
  const members: { endpoint: Endpoint; port: number }[] = [];
  const taken = new Map<string, Endpoint>();
  for (const endpoint of [...endpoints].sort(compareMembers)) {
    const port = servingPort(endpoint);
    if (port === undefined) {
      skipped.push({ endpoint, reason: 'it lists no TCP port' });
      continue;
    }
    // Clients refuse a load assignment that lists one address twice.
    const where = `${endpoint.address} ${port}`;
    const holder = taken.get(where);
    if (holder) {
      skipped.push({ endpoint, reason: `${endpoint.address}:${port} already serves ${service} (container ${holder.containerId})` });
      continue;
    }
    taken.set(where, endpoint);
    members.push({ endpoint, port });
  }
  return {
    listener: listener(service),
    route: route(service),
    cluster: cluster(service),
    loadAssignment: loadAssignment(service, members),
    skipped,
  };
}

/**
 * Builds snapshots, reusing a service's resources while its endpoints are the same objects as last time:
 * a change to one service rebuilds that service only, and the cache, given the same objects, re-encodes
 * nothing else. Endpoints are immutable records, so object identity is a safe test.
 */
export class SnapshotBuilder {
  private built = new Map<string, { members: ReadonlySet<Endpoint>; resources: ServiceResources }>();

  build(endpoints: Iterable<Endpoint>): BuiltSnapshot {
    const byService = new Map<string, Endpoint[]>();
    for (const endpoint of endpoints) {
      if (endpoint.service === undefined) continue;
      const list = byService.get(endpoint.service);
      if (list) list.push(endpoint);
      else byService.set(endpoint.service, [endpoint]);
    }
    const next = new Map<string, { members: ReadonlySet<Endpoint>; resources: ServiceResources }>();
    for (const service of [...byService.keys()].sort()) {
      const members = byService.get(service)!;
      const prior = this.built.get(service);
      const same = prior && prior.members.size === members.length && members.every((e) => prior.members.has(e));
      next.set(service, same ? prior : { members: new Set(members), resources: buildService(service, members) });
    }
    this.built = next;
    const services = [...next.values()].map((s) => s.resources);
    // A service whose every endpoint was skipped has no endpoints, so no resources.
    const served = [...next.keys()].filter((_, i) => services[i]!.loadAssignment.endpoints.length > 0);
    const pick = <T>(f: (r: ServiceResources) => T) => new Map(served.map((name) => [name, f(next.get(name)!.resources)]));
    return {
      snapshot: {
        [TypeUrl.Listener]: pick((r) => r.listener),
        [TypeUrl.RouteConfiguration]: pick((r) => r.route),
        [TypeUrl.Cluster]: pick((r) => r.cluster),
        [TypeUrl.ClusterLoadAssignment]: pick((r) => r.loadAssignment),
      },
      skipped: services.flatMap((r) => r.skipped),
    };
  }
}

/** Builds every resource from the endpoints of all nodes; equal input gives equal output, in a stable order. */
export function buildSnapshot(endpoints: Iterable<Endpoint>): BuiltSnapshot {
  return new SnapshotBuilder().build(endpoints);
}
