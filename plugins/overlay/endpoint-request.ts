// What the overlay plugin registers with weftd for a container (daemon/xds/endpoint.ts `Endpoint`): its
// service, address, ports and labels, read from the invocation.
//
// Service, first found wins:
//   CNI_ARGS WEFT_SERVICE=echo
//   runtimeConfig "weft.dev/service": "echo"          (capability "weft.dev/service")
//   the config's "service"
//   Kubernetes: CNI_ARGS K8S_POD_NAME and K8S_POD_NAMESPACE → "<pod>.<namespace>" (one pod, one service)
// With none of these the container is attached but not registered.
// Ports, merged: CNI_ARGS WEFT_PORTS=grpc:50051,53/udp (entries [name:]port[/protocol]) and runtimeConfig
// "portMappings" (the standard capability; its containerPort and protocol).
// Labels: k8s.pod and k8s.namespace from the Kubernetes keys.
// Address: the result's first IPv4 address, else its first address.
//
// weftd fills in the node; the plugin checks the rest with the daemon's own parser before anything changes.
import { K8S_ARGS, parseCniArgs } from '../../lib/cni/args.ts';
import { CniError, ErrorCode } from '../../lib/cni/errors.ts';
import type { JsonObject, JsonValue, Result } from '../../lib/cni/types.ts';
import { endpointToJson, parseEndpoint } from '../../daemon/xds/endpoint.ts';
import type { OverlayConf } from './config.ts';

/** The CNI_ARGS keys the overlay reads itself (not passed on to the bridge and host-local). */
export const OVERLAY_ARGS = { WEFT_SERVICE: String, WEFT_PORTS: String } as const;
const serviceCapability = 'weft.dev/service';
// A stand-in node for validating the plugin's part; weftd replaces it with its own name.
const placeholderNode = 'this-node';

function portsFromArgs(text: string): JsonValue[] {
  return text.split(',').filter((entry) => entry !== '').map((entry) => {
    const match = /^(?:([^:/]+):)?([0-9]{1,5})(?:\/([a-zA-Z]+))?$/.exec(entry);
    if (!match) throw new CniError(ErrorCode.InvalidEnvironment, 'invalid CNI_ARGS', `WEFT_PORTS entry ${JSON.stringify(entry)}: expected [name:]port[/protocol]`);
    return { name: match[1] ?? '', port: Number(match[2]), protocol: match[3] ?? 'tcp' };
  });
}

function portsFromMappings(runtimeConfig: JsonObject | undefined): JsonValue[] {
  const mappings = runtimeConfig?.portMappings;
  if (!Array.isArray(mappings)) return [];
  return mappings.flatMap((m) => {
    if (typeof m !== 'object' || m === null || Array.isArray(m) || typeof m.containerPort !== 'number') return [];
    return [{ name: '', port: m.containerPort, protocol: typeof m.protocol === 'string' ? m.protocol : 'tcp' }];
  });
}

/** Repeated protocol/port pairs (a port named in CNI_ARGS and mapped too) kept once, the first wins. */
function distinctPorts(ports: JsonValue[]): JsonValue[] {
  const seen = new Set<string>();
  return ports.filter((p) => {
    const { port, protocol } = p as { port: number; protocol: string };
    const key = `${protocol.toLowerCase()}/${port}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function resultAddress(result: Result): string | undefined {
  const ips = (result.ips ?? []).map((ip) => ip.address.split('/')[0]!);
  return ips.find((ip) => !ip.includes(':')) ?? ips[0];
}

/**
 * The endpoint for this container in its JSON form without the node (weftd's to fill in), or undefined
 * when no service is named. Bad values are code 4 (CNI_ARGS) or 7 (config, runtimeConfig).
 */
export function endpointRequest(conf: OverlayConf, cniArgs: string, containerId: string, result: Result): JsonObject | undefined {
  const args = parseCniArgs(cniArgs, { ...OVERLAY_ARGS, ...K8S_ARGS });
  const fromCapability = conf.runtimeConfig?.[serviceCapability];
  const k8s = args.K8S_POD_NAME && args.K8S_POD_NAMESPACE ? `${args.K8S_POD_NAME}.${args.K8S_POD_NAMESPACE}`.toLowerCase() : undefined;
  const service = args.WEFT_SERVICE ?? (typeof fromCapability === 'string' ? fromCapability : undefined) ?? conf.overlay.service ?? k8s;
  if (service === undefined) return undefined;
  const address = resultAddress(result);
  if (address === undefined) throw new CniError(ErrorCode.DelegateFailure, 'the bridge plugin returned no address to register');
  const labels: Record<string, string> = {};
  if (args.K8S_POD_NAME) labels['k8s.pod'] = args.K8S_POD_NAME;
  if (args.K8S_POD_NAMESPACE) labels['k8s.namespace'] = args.K8S_POD_NAMESPACE;
  const ports = distinctPorts([...portsFromArgs(args.WEFT_PORTS ?? ''), ...portsFromMappings(conf.runtimeConfig)]);
  const { node: _, ...endpoint } = endpointToJson(parseEndpoint({ service, containerId, node: placeholderNode, address, ports, labels, health: 'healthy' }));
  return endpoint;
}

/** CNI_ARGS without the overlay's own keys, for the delegates (which refuse keys they do not know). */
export function delegateCniArgs(cniArgs: string): string {
  if (cniArgs === '') return cniArgs;
  return cniArgs.split(';').filter((pair) => !Object.hasOwn(OVERLAY_ARGS, pair.split('=')[0]!)).join(';');
}
