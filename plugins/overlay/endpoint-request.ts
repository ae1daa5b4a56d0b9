// What the overlay plugin registers with weftd for a container (lib/weftd-api/endpoint.ts `Endpoint`): its
// service, address, ports and labels, read from the invocation.
//
// Service, first found wins:
//   CNI_ARGS WEFT_SERVICE=echo
//   runtimeConfig "weft.dev/service": "echo"          (capability "weft.dev/service")
//   the config's "service"
//   Kubernetes: CNI_ARGS K8S_POD_NAME and K8S_POD_NAMESPACE → "<pod>.<namespace>" (one pod, one service)
// With none of these the container is registered without a service: DNS names it, xDS leaves it out.
// Ports, merged: CNI_ARGS WEFT_PORTS=grpc:50051,53/udp (entries [name:]port[/protocol]) and runtimeConfig
// "portMappings" (the standard capability; its containerPort and protocol).
// Labels: k8s.pod and k8s.namespace from the Kubernetes keys.
// Address: the result's first IPv4 address, else its first address; addresses: all of them (DNS serves each).
//
// ADD reads all of it before anything is made (`endpointPlan`), whether a service is named or not, each
// value checked with the daemon's own parser: a bad one is code 4 naming the CNI_ARGS pair, or code 7
// naming the config or runtimeConfig field. weftd fills in the node. DEL reads none of it, so an
// attachment made with values an older version let through can still be deleted.
import { K8S_ARGS, parseCniArgs } from '../../lib/cni/args.ts';
import { ConfigValue } from '../../lib/json/config-value.ts';
import { CniError, ErrorCode } from '../../lib/cni/errors.ts';
import type { Result } from '../../lib/cni/types.ts';
import type { JsonObject, JsonValue } from '../../lib/json/json-value.ts';
import { endpointToJson, parseEndpoint } from '../../lib/weftd-api/endpoint.ts';
import type { OverlayConf } from './config.ts';

const serviceCapability = 'weft.dev/service';
// Stand-ins for what is not known yet (weftd replaces the node; the address comes with the bridge's
// result), so that the daemon's parser checks the plugin's part before anything is made.
const standIns = { containerId: 'stand-in', node: 'this-node', address: '0.0.0.0' };

/** `part` as the daemon's parser reads it (JSON, without the node); a refusal goes through `refuse`, which names the source. */
function checked(part: JsonObject, refuse: (err: CniError) => Error = (err) => err): JsonObject {
  try {
    const { node: _, ...endpoint } = endpointToJson(parseEndpoint({ ...standIns, ...part }));
    return endpoint;
  } catch (err) {
    throw err instanceof CniError ? refuse(err) : err;
  }
}

const refusedField = (field: ConfigValue) => (err: CniError) => field.invalid(`cannot be registered: ${err.details ?? err.msg}`);

function checkedPort(port: JsonObject, refuse?: (err: CniError) => Error): JsonValue {
  return (checked({ ports: [port] }, refuse).ports as JsonValue[])[0]!;
}

/** A WEFT_PORTS value; parseCniArgs turns what this throws into a code-4 error naming the pair. */
function portsFromArgs(text: string): JsonValue[] {
  return distinctPorts(text.split(',').filter((entry) => entry !== '').map((entry) => {
    const match = /^(?:([^:/]+):)?([0-9]{1,5})(?:\/([a-zA-Z]+))?$/.exec(entry);
    if (!match) throw new TypeError(`entry ${JSON.stringify(entry)}: expected [name:]port[/protocol]`);
    return checkedPort({ name: match[1] ?? '', port: Number(match[2]), protocol: match[3] ?? 'tcp' });
  }));
}

/** The CNI_ARGS keys the overlay reads itself (not passed on to the bridge and host-local). */
export const OVERLAY_ARGS = {
  WEFT_SERVICE: (text: string) => checked({ service: text }).service as string,
  WEFT_PORTS: portsFromArgs,
} as const;

function portsFromMappings(mappings: ConfigValue): JsonValue[] {
  return (mappings.optionalList() ?? []).map((mapping) => checkedPort({
    port: mapping.field('containerPort').integer(),
    protocol: mapping.field('protocol').optionalString() ?? 'tcp',
  }, refusedField(mapping)));
}

function serviceOf(field: ConfigValue): string | undefined {
  const service = field.optionalString();
  return service === undefined ? undefined : checked({ service }, refusedField(field)).service as string;
}

/** Repeated protocol/port pairs (a port named in CNI_ARGS and mapped too) kept once, the first wins. */
function distinctPorts(ports: JsonValue[]): JsonValue[] {
  const seen = new Set<string>();
  return ports.filter((p) => {
    const { port, protocol } = p as { port: number; protocol: string };
    const key = `${protocol}/${port}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The endpoint ADD is to register for this container, checked, with a stand-in address (see `endpointRequest`). */
export function endpointPlan(conf: OverlayConf, cniArgs: string, containerId: string): JsonObject {
  const args = parseCniArgs(cniArgs, { ...OVERLAY_ARGS, ...K8S_ARGS });
  const runtimeConfig = new ConfigValue(conf.runtimeConfig, 'runtimeConfig');
  const fromCapability = serviceOf(runtimeConfig.field(serviceCapability));
  const fromConfig = serviceOf(new ConfigValue(conf.overlay.service, 'service'));
  const mapped = portsFromMappings(runtimeConfig.field('portMappings'));
  const k8s = args.K8S_POD_NAME && args.K8S_POD_NAMESPACE ? `${args.K8S_POD_NAME}.${args.K8S_POD_NAMESPACE}`.toLowerCase() : undefined;
  const service = args.WEFT_SERVICE ?? fromCapability ?? fromConfig ?? k8s;
  const labels: Record<string, string> = {};
  if (args.K8S_POD_NAME) labels['k8s.pod'] = args.K8S_POD_NAME;
  if (args.K8S_POD_NAMESPACE) labels['k8s.namespace'] = args.K8S_POD_NAMESPACE;
  const ports = distinctPorts([...(args.WEFT_PORTS ?? []), ...mapped]);
  return checked({ ...(service !== undefined ? { service } : {}), containerId, ports, labels, health: 'healthy' });
}

function resultAddresses(result: Result): string[] {
  return (result.ips ?? []).map((ip) => ip.address.split('/')[0]!);
}

/** The planned endpoint with the container's address from the bridge's result: what ADD saves and registers. */
export function endpointRequest(plan: JsonObject, result: Result): JsonObject {
  const addresses = resultAddresses(result);
  const address = addresses.find((ip) => !ip.includes(':')) ?? addresses[0];
  if (address === undefined) throw new CniError(ErrorCode.DelegateFailure, 'the bridge plugin returned no address to register');
  return checked({ ...plan, address, addresses });
}

/** CNI_ARGS without the overlay's own keys, for the delegates (which refuse keys they do not know). */
export function delegateCniArgs(cniArgs: string): string {
  if (cniArgs === '') return cniArgs;
  return cniArgs.split(';').filter((pair) => !Object.hasOwn(OVERLAY_ARGS, pair.split('=')[0]!)).join(';');
}
