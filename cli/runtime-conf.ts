// The per-attachment parameters a runtime supplies (SPEC.md "Attachment Parameters"), read from cnitool's
// environment so weft and cnitool are interchangeable: same variables, same defaults, same container ID.
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { CniError, ErrorCode } from '../lib/cni/errors.ts';
import type { Environment } from '../lib/cni/invoke.ts';
import { parseJsonObject } from '../lib/cni/json.ts';
import { validateInterfaceName } from '../lib/cni/skel.ts';
import type { JsonObject } from '../lib/json/json-value.ts';
import type { CniArgPairs } from './result-cache.ts';

export const DEFAULT_NETCONF_PATH = '/etc/cni/net.d';
export const DEFAULT_IFNAME = 'eth0';

export interface RuntimeConf {
  readonly containerId: string;
  /** Absolute path of the network namespace. */
  readonly netns: string;
  readonly ifName: string;
  /** CNI_ARGS as pairs, in the order given. */
  readonly cniArgs: CniArgPairs;
  /** CAP_ARGS: capability arguments, offered to each plugin that declares the capability. */
  readonly capabilityArgs: JsonObject;
}

/** cnitool's container ID: "cnitool-" and the first 20 hex digits of sha512 of the absolute netns path. */
export function containerIdForNetns(netnsPath: string): string {
  return `cnitool-${createHash('sha512').update(resolve(netnsPath)).digest('hex').slice(0, 20)}`;
}

/** CNI_ARGS "K=V;K=V" into pairs; as cnitool, each pair needs exactly one '=' and both sides non-empty. */
export function parseCniArgPairs(text: string): CniArgPairs {
  if (text === '') return [];
  return text.split(';').map((pair) => {
    const parts = pair.split('=');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
      throw new CniError(ErrorCode.InvalidEnvironment, 'invalid CNI_ARGS pair', JSON.stringify(pair));
    }
    return [parts[0]!, parts[1]!];
  });
}

/** CAP_ARGS: a JSON object of capability arguments, e.g. {"portMappings":[...]}. */
export function parseCapabilityArgs(text: string): JsonObject {
  return text === '' ? {} : parseJsonObject(text, ErrorCode.InvalidEnvironment, 'invalid CAP_ARGS');
}

/** The interface name: `flag` if given, else CNI_IFNAME, else eth0; validated (code 4). */
export function interfaceName(env: Environment, flag?: string): string {
  const ifName = flag || env.CNI_IFNAME || DEFAULT_IFNAME;
  validateInterfaceName(ifName);
  return ifName;
}

/**
 * The attachment for `netnsPath` from the environment: the interface (see `interfaceName`), CNI_ARGS,
 * CAP_ARGS. Validates them before any plugin runs; the container ID is valid by construction.
 */
export function runtimeConfFromEnv(env: Environment, netnsPath: string, ifName?: string): RuntimeConf {
  const netns = resolve(netnsPath);
  return {
    containerId: containerIdForNetns(netns),
    netns,
    ifName: interfaceName(env, ifName),
    cniArgs: parseCniArgPairs(env.CNI_ARGS ?? ''),
    capabilityArgs: parseCapabilityArgs(env.CAP_ARGS ?? ''),
  };
}
