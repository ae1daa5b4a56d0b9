// A container's endpoint: one container, serving one service or none, as the overlay plugin registers it
// with weftd and as the daemons share it through the lease store. The xDS server turns the endpoints of all
// nodes that serve a service into clusters and load assignments; the DNS server gives every one a name. The JSON form is this interface as it stands (address as text), so an
// endpoint travels over the local socket and through the store unchanged; `parseEndpoint` is its one gate.
import { ErrorCode } from '../cni/errors.ts';
import { ConfigValue, type FieldError } from '../json/config-value.ts';
import type { JsonObject, JsonValue } from '../json/json-value.ts';

/** Health as the endpoint's owner reports it; only `healthy` and `unknown` endpoints receive traffic. */
export type EndpointHealth = 'healthy' | 'unhealthy' | 'draining' | 'unknown';
export const endpointHealths: readonly EndpointHealth[] = ['healthy', 'unhealthy', 'draining', 'unknown'];

export type PortProtocol = 'tcp' | 'udp' | 'sctp';
const portProtocols: readonly PortProtocol[] = ['tcp', 'udp', 'sctp'];

export interface EndpointPort {
  /** The port's name in the container's spec ("grpc", "http"); empty when unnamed. */
  readonly name: string;
  readonly port: number;
  readonly protocol: PortProtocol;
}

export interface Endpoint {
  /**
   * The service this endpoint serves: names the xDS listener, route, cluster and load assignment. Absent
   * for a container that names none: it is served by DNS only, under its own name.
   */
  readonly service?: string;
  readonly containerId: string;
  /** The node (host) the container runs on: the endpoint's locality. */
  readonly node: string;
  /** The container's overlay address, canonical text (RFC 5952 for IPv6): the one xDS serves. */
  readonly address: string;
  /** Every overlay address of the container, `address` first (dual stack: its IPv6 one too): what DNS serves. */
  readonly addresses: readonly string[];
  readonly ports: readonly EndpointPort[];
  readonly labels: Readonly<Record<string, string>>;
  readonly health: EndpointHealth;
}

/** The endpoints of every node as one changing set: what the xDS server serves. */
export interface EndpointSource {
  /** The endpoints as they are now. */
  endpoints(): Iterable<Endpoint>;
  /** Calls `listener` after every change; returns the function that stops the calls. */
  onChange(listener: () => void): () => void;
}

const invalidEndpoint: FieldError = { code: ErrorCode.InvalidNetworkConfig, msg: 'invalid endpoint' };

// Service names appear in `xds:///<service>` targets and as resource names: a DNS subdomain keeps them
// valid in both without escaping.
const serviceName = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
// The CNI spec's container ID rule; node names are host names.
const containerIdPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const nodeName = /^[A-Za-z0-9]([-A-Za-z0-9._]{0,251}[A-Za-z0-9])?$/;
// Kubernetes names (pod, namespace) are the longest values labels carry: a DNS subdomain, 253 characters.
const maxLabelLength = 253;
const maxContainerIdLength = 1024;
const maxLabels = 64;
const maxAddresses = 8;

function matching(field: ConfigValue, pattern: RegExp, what: string, maxLength = 253): string {
  const text = field.nonEmptyString();
  if (text.length > maxLength) throw field.invalid(`must be at most ${maxLength} characters, got ${text.length}`);
  if (!pattern.test(text)) throw field.invalid(`must be ${what}, got ${JSON.stringify(text)}`);
  return text;
}

function parsePort(field: ConfigValue): EndpointPort {
  const name = field.field('name').optionalString() ?? '';
  if (name.length > 63) throw field.field('name').invalid('must be at most 63 characters');
  const port = field.field('port').integer({ min: 1, max: 65535 });
  const protocolField = field.field('protocol');
  const protocol = (protocolField.optionalString() ?? 'tcp').toLowerCase();
  if (!portProtocols.includes(protocol as PortProtocol)) {
    throw protocolField.invalid(`must be one of ${portProtocols.join(', ')}, got ${JSON.stringify(protocol)}`);
  }
  return { name, port, protocol: protocol as PortProtocol };
}

function parseLabels(field: ConfigValue): Record<string, string> {
  const labels: Record<string, string> = {};
  const keys = Object.keys(field.optionalObject() ?? {});
  if (keys.length > maxLabels) throw field.invalid(`must have at most ${maxLabels} labels, got ${keys.length}`);
  for (const key of keys) {
    if (key === '' || key.length > maxLabelLength) throw field.invalid(`has a key of ${key.length} characters (1 to ${maxLabelLength})`);
    const value = field.field(key).string();
    if (value.length > maxLabelLength) throw field.field(key).invalid(`must be at most ${maxLabelLength} characters`);
    labels[key] = value;
  }
  return labels;
}

/** `address` and the other addresses of the list, each once. */
function parseAddresses(field: ConfigValue, address: string): string[] {
  const list = field.optionalList() ?? [];
  if (list.length > maxAddresses) throw field.invalid(`must list at most ${maxAddresses} addresses, got ${list.length}`);
  return [...new Set([address, ...list.map((item) => item.ip())])];
}

/** Reads an endpoint from its JSON form, refusing anything that would not make a valid xDS resource. */
export function parseEndpoint(raw: JsonValue | undefined): Endpoint {
  const value = new ConfigValue(raw, '', invalidEndpoint);
  value.object();
  const health = value.field('health').optionalString() ?? 'unknown';
  if (!endpointHealths.includes(health as EndpointHealth)) {
    throw value.field('health').invalid(`must be one of ${endpointHealths.join(', ')}, got ${JSON.stringify(health)}`);
  }
  const ports = (value.field('ports').optionalList() ?? []).map(parsePort);
  const seen = new Set<string>();
  for (const [index, port] of ports.entries()) {
    const key = `${port.protocol}/${port.port}`;
    if (seen.has(key)) throw value.field('ports').invalid(`lists ${key} twice (entry ${index})`);
    seen.add(key);
  }
  const address = value.field('address').ip();
  const service = value.field('service');
  return {
    ...(service.present ? { service: matching(service, serviceName, 'a lowercase DNS name such as "echo" or "echo.default"') } : {}),
    containerId: matching(value.field('containerId'), containerIdPattern, 'letters, digits, "_", "." and "-"', maxContainerIdLength),
    node: matching(value.field('node'), nodeName, 'a host name'),
    address,
    addresses: parseAddresses(value.field('addresses'), address),
    ports,
    labels: parseLabels(value.field('labels')),
    health: health as EndpointHealth,
  };
}

/** The JSON form `parseEndpoint` reads (`addresses` only when the container has more than `address`). */
export function endpointToJson(endpoint: Endpoint): JsonObject {
  return {
    ...(endpoint.service !== undefined ? { service: endpoint.service } : {}),
    containerId: endpoint.containerId,
    node: endpoint.node,
    address: endpoint.address,
    ...(endpoint.addresses.length > 1 ? { addresses: [...endpoint.addresses] } : {}),
    ports: endpoint.ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol })),
    labels: { ...endpoint.labels },
    health: endpoint.health,
  };
}

/** Endpoints that receive traffic (xDS and DNS alike): Envoy and gRPC route to HEALTHY and UNKNOWN only. */
export function receivesTraffic(endpoint: Endpoint): boolean {
  return endpoint.health === 'healthy' || endpoint.health === 'unknown';
}

/** The port a service's clients connect to: the endpoint's first TCP port (gRPC and HTTP run on TCP). */
export function servingPort(endpoint: Endpoint): number | undefined {
  return endpoint.ports.find((p) => p.protocol === 'tcp')?.port;
}
