// The four xDS resource types weftd serves, by type URL, and what the protocol says about each.

export const TypeUrl = {
  Listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  RouteConfiguration: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  Cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  ClusterLoadAssignment: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
} as const;

export type TypeUrl = (typeof TypeUrl)[keyof typeof TypeUrl];

/**
 * The order pushes go out when several types change at once: clusters and their endpoints before the
 * listeners and routes that point at them, so a client never routes to a cluster it has not seen
 * (the protocol's "make before break").
 */
export const pushOrder: readonly TypeUrl[] = [
  TypeUrl.Cluster,
  TypeUrl.ClusterLoadAssignment,
  TypeUrl.Listener,
  TypeUrl.RouteConfiguration,
];

export function isTypeUrl(value: string): value is TypeUrl {
  return (pushOrder as readonly string[]).includes(value);
}

/**
 * In state-of-the-world xDS, a Listener or Cluster response carries every subscribed resource of the type
 * (one missing means deleted); RouteConfiguration and ClusterLoadAssignment responses carry any subset.
 */
export function isFullStateType(typeUrl: TypeUrl): boolean {
  return typeUrl === TypeUrl.Listener || typeUrl === TypeUrl.Cluster;
}

/** The message name inside a type URL ("envoy.config.cluster.v3.Cluster"). */
export function messageName(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
}
