// From endpoints to xDS resources, with no effects: per service one Cluster (EDS over ADS), one
// ClusterLoadAssignment with a locality per node, and the Listener + RouteConfiguration a proxyless gRPC
// client resolves `xds:///<service>` through. All four resources of a service are named after it.
import { servingPort, type Endpoint, type EndpointHealth } from './endpoint.ts';
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

/** Endpoints that receive traffic: Envoy and gRPC both route to HEALTHY and UNKNOWN only. */
function serves(endpoint: Endpoint): boolean {
  return endpoint.health === 'healthy' || endpoint.health === 'unknown';
}

function byString<T>(key: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
}

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
      load_balancing_weight: { value: Math.max(1, here.filter((m) => serves(m.endpoint)).length) },
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

/** Builds every resource from the endpoints of all nodes; equal input gives equal output, in a stable order. */
export function buildSnapshot(endpoints: Iterable<Endpoint>): BuiltSnapshot {
  const skipped: SkippedEndpoint[] = [];
  const sorted = [...endpoints].sort(byString((e) => `${e.service}\0${e.node}\0${e.containerId}`));
  const services = new Map<string, { endpoint: Endpoint; port: number }[]>();
  const taken = new Map<string, Endpoint>();
  for (const endpoint of sorted) {
    const port = servingPort(endpoint);
    if (port === undefined) {
      skipped.push({ endpoint, reason: 'it lists no TCP port' });
      continue;
    }
    // Clients refuse a load assignment that lists one address twice.
    const where = `${endpoint.service} ${endpoint.address} ${port}`;
    const holder = taken.get(where);
    if (holder) {
      skipped.push({ endpoint, reason: `${endpoint.address}:${port} already serves ${endpoint.service} (container ${holder.containerId})` });
      continue;
    }
    taken.set(where, endpoint);
    const members = services.get(endpoint.service) ?? [];
    members.push({ endpoint, port });
    services.set(endpoint.service, members);
  }
  const names = [...services.keys()];
  return {
    snapshot: {
      [TypeUrl.Listener]: new Map(names.map((s) => [s, listener(s)])),
      [TypeUrl.RouteConfiguration]: new Map(names.map((s) => [s, route(s)])),
      [TypeUrl.Cluster]: new Map(names.map((s) => [s, cluster(s)])),
      [TypeUrl.ClusterLoadAssignment]: new Map(names.map((s) => [s, loadAssignment(s, services.get(s)!)])),
    },
    skipped,
  };
}
