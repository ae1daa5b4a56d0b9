// The xDS transport messages (envoy.service.discovery.v3), with the fields weftd reads or writes, named as
// in the proto. Decoded requests are protobufjs message instances: unset strings read '', unset lists [],
// unset messages null.

export interface Node {
  readonly id: string;
  readonly cluster: string;
  readonly user_agent_name: string;
  readonly locality?: { readonly region: string; readonly zone: string; readonly sub_zone: string } | null;
}

/** google.rpc.Status, the error a client puts in a NACK. */
export interface RpcStatus {
  readonly code: number;
  readonly message: string;
}

/** `google.protobuf.Any` with its bytes: how a resource travels inside a response. */
export interface PackedResource {
  readonly type_url: string;
  readonly value: Uint8Array;
}

export interface DiscoveryRequest {
  readonly version_info: string;
  readonly node?: Node | null;
  readonly resource_names: readonly string[];
  readonly type_url: string;
  readonly response_nonce: string;
  readonly error_detail?: RpcStatus | null;
}

export interface DiscoveryResponse {
  readonly version_info: string;
  readonly resources: readonly PackedResource[];
  readonly type_url: string;
  readonly nonce: string;
  readonly control_plane?: { readonly identifier: string };
}

export interface DeltaDiscoveryRequest {
  readonly node?: Node | null;
  readonly type_url: string;
  readonly resource_names_subscribe: readonly string[];
  readonly resource_names_unsubscribe: readonly string[];
  readonly initial_resource_versions: Readonly<Record<string, string>>;
  readonly response_nonce: string;
  readonly error_detail?: RpcStatus | null;
}

/** `envoy.service.discovery.v3.Resource`: one resource of a delta response, with its own version. */
export interface VersionedResource {
  readonly name: string;
  readonly version: string;
  readonly resource: PackedResource;
}

export interface DeltaDiscoveryResponse {
  readonly system_version_info: string;
  readonly resources: readonly VersionedResource[];
  readonly type_url: string;
  readonly removed_resources: readonly string[];
  readonly nonce: string;
  readonly control_plane?: { readonly identifier: string };
}
