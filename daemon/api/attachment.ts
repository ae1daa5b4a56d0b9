// The local API as a weftd attachment: once the lease is held, the endpoints the overlay plugin saved are
// registered again and the socket opens; stopping closes it (the endpoints stay in the plugin's files).
import type { JsonObject } from '../../lib/json/json-value.ts';
import { formatCidr } from '../../lib/ip/cidr.ts';
import type { Attach, DaemonContext } from '../daemon.ts';
import type { EndpointSet } from '../xds/endpoint-set.ts';
import { savedEndpoints } from './saved-endpoints.ts';
import { startApiServer } from './server.ts';

export interface ApiAttachmentOptions {
  readonly socketPath: string;
  /** The overlay plugin's dataDir, read at start for endpoints registered before. */
  readonly overlayDataDir: string;
  /** Where registrations go; the xDS server serves the same set. */
  readonly endpoints: EndpointSet;
}

function leaseJson(context: DaemonContext): JsonObject | undefined {
  const lease = context.leases.lease;
  if (!lease) return undefined;
  return {
    node: lease.nodeName,
    network: formatCidr(context.config.network),
    subnet: lease.subnet,
    ...(lease.ipv6Subnet ? { ipv6Subnet: lease.ipv6Subnet } : {}),
    mtu: context.mtu,
  };
}

export function apiAttachment(options: ApiAttachmentOptions): Attach {
  return async (context) => {
    const node = context.leases.lease!.nodeName;
    const log = context.log.child({ component: 'api' });
    const restored = await savedEndpoints(options.overlayDataDir, node, log);
    options.endpoints.replaceAll(restored);
    if (restored.length > 0) log.info('endpoints restored from the overlay plugin\'s saved attachments', { count: restored.length });
    const server = await startApiServer({ socketPath: options.socketPath, node, endpoints: options.endpoints, lease: () => leaseJson(context), log });
    log.info('local API listening', { socket: options.socketPath });
    return { stop: () => server.close() };
  };
}
