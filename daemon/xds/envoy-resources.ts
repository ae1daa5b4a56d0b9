// The parts of Envoy's v3 resources that weftd fills in, typed as protobufjs `fromObject` reads them:
// proto field names (snake_case), enums by name, `google.protobuf.Any` in its JSON form with "@type",
// wrapper types as `{ value }`. Unset fields are left out.

/** An `Any` in JSON form: the packed message's fields beside its type URL. */
export type TypedConfig<T extends object = Record<string, unknown>> = T & { readonly '@type': string };

export interface ConfigSource {
  readonly ads: Record<string, never>;
  readonly resource_api_version: 'V3';
}

export interface Cluster {
  readonly name: string;
  readonly type: 'EDS';
  readonly eds_cluster_config: { readonly eds_config: ConfigSource };
  readonly lb_policy: 'ROUND_ROBIN';
  readonly connect_timeout?: Duration;
  readonly typed_extension_protocol_options?: Readonly<Record<string, TypedConfig>>;
}

export interface Duration {
  readonly seconds: number;
  readonly nanos?: number;
}

export type HealthStatus = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING';

export interface Locality {
  readonly region: string;
  readonly zone: string;
  readonly sub_zone: string;
}

/** `google.protobuf.Struct` of strings; protobufjs defines the well-known types with camelCase fields. */
export interface Struct {
  readonly fields: Readonly<Record<string, { readonly stringValue: string }>>;
}

export interface LbEndpoint {
  readonly endpoint: {
    readonly address: { readonly socket_address: { readonly address: string; readonly port_value: number } };
  };
  readonly health_status: HealthStatus;
  readonly metadata?: { readonly filter_metadata: Readonly<Record<string, Struct>> };
}

export interface LocalityLbEndpoints {
  readonly locality: Locality;
  readonly lb_endpoints: readonly LbEndpoint[];
  readonly load_balancing_weight: { readonly value: number };
}

export interface ClusterLoadAssignment {
  readonly cluster_name: string;
  readonly endpoints: readonly LocalityLbEndpoints[];
}

export interface HttpConnectionManager {
  readonly stat_prefix: string;
  readonly rds: { readonly config_source: ConfigSource; readonly route_config_name: string };
  readonly http_filters: readonly { readonly name: string; readonly typed_config: TypedConfig }[];
}

export interface Listener {
  readonly name: string;
  readonly api_listener: { readonly api_listener: TypedConfig<HttpConnectionManager> };
}

export interface Route {
  readonly match: { readonly prefix: string };
  readonly route: { readonly cluster: string };
}

export interface RouteConfiguration {
  readonly name: string;
  readonly virtual_hosts: readonly { readonly name: string; readonly domains: readonly string[]; readonly routes: readonly Route[] }[];
}
