// Endpoint fixtures for the tests and benchmarks of endpoints (the xDS server, the lease stores).
import type { Endpoint } from '../endpoint.ts';

/** An endpoint of `service` on `node`, serving gRPC on `port`; fields not given take plain defaults. */
export function endpoint(service: string, containerId: string, node: string, address: string, port = 50051,
  extra: Partial<Endpoint> = {}): Endpoint {
  return {
    service, containerId, node, address,
    addresses: [address],
    ports: [{ name: 'grpc', port, protocol: 'tcp' }],
    labels: {},
    health: 'healthy',
    ...extra,
  };
}
