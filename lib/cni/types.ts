// The shapes of the CNI contract (SPEC.md sections 1 and 5): network configurations as a plugin receives
// them, configuration lists as a runtime loads them, and results of every version the suite speaks.
//
// Results travel through weft in one shape, `Result` (spec 1.0.0/1.1.0). Only the edges see older shapes:
// `parseResult` (result.ts) reads any version into `Result`, `convertResult` writes it out in the version a
// config asked for. Addresses stay text (CIDR / IP strings, as the spec writes them); parsing validated and
// normalised them, and `lib/ip` turns them into numbers where a plugin computes with them.

import type { JsonObject, JsonValue } from '../json/json-value.ts';

/** `dns` in a config and in a result. */
export interface Dns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** `ipam` in a config: the delegate's type plus whatever fields that IPAM plugin reads itself. */
export interface IpamConf {
  /** Executable name of the IPAM plugin, looked up in CNI_PATH; absent or empty means no IPAM. */
  type?: string;
  readonly [field: string]: JsonValue | undefined;
}

/** One entry of `cni.dev/valid-attachments` (GC). */
export interface GcAttachment {
  containerID: string;
  ifname: string;
}

/**
 * The protocol fields of one plugin configuration as a plugin receives it on stdin, validated.
 * A plugin extends it with its own fields (see `PluginDefinition.parseConfig` in skel.ts).
 */
export interface NetConf {
  /** As given; '0.1.0' when the config has none (the spec's rule). */
  cniVersion: string;
  name: string;
  type: string;
  capabilities?: Record<string, boolean>;
  ipam?: IpamConf;
  dns?: Dns;
  /** Reserved, runtime-supplied (`args.cni.ips`, …): left as JSON for plugins that read conventions. */
  args?: JsonObject;
  /** Runtime-supplied capability arguments (`portMappings`, `ips`, `mac`, …), as JSON. */
  runtimeConfig?: JsonObject;
  /** The previous plugin's result, read from whatever version it was in and held in the current shape. */
  prevResult?: Result;
  /** `cni.dev/valid-attachments`, present on GC only. */
  validAttachments?: GcAttachment[];
}

/** A plugin configuration object inside a list: kept as JSON so unknown fields pass through unchanged. */
export type PluginConfObject = JsonObject & { type: string };

/** A network configuration list (`.conflist`) as libcni loads it. */
export interface NetConfList {
  /** The version selected from `cniVersion` and `cniVersions` (highest one not above ours); '' if none. */
  cniVersion: string;
  cniVersions?: string[];
  name: string;
  disableCheck: boolean;
  disableGC: boolean;
  loadOnlyInlinedPlugins: boolean;
  plugins: PluginConfObject[];
}

// ---- Results, current shape (1.0.0, 1.1.0) ----

export interface Interface {
  name: string;
  mac?: string;
  mtu?: number;
  /** Netns path for interfaces inside the container; absent for host interfaces. */
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}

export interface IpConfig {
  /** CIDR with the host part kept, e.g. "10.1.0.5/24". */
  address: string;
  gateway?: string;
  /** Index into `interfaces`; IPAM results leave it out. */
  interface?: number;
}

export interface Route {
  /** CIDR. */
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  /** 0 global, 253 link, 254 host. */
  scope?: number;
}

/** An ADD result in the current shape. `cniVersion` is the version it is written in. */
export interface Result {
  cniVersion: string;
  interfaces?: Interface[];
  ips?: IpConfig[];
  routes?: Route[];
  dns?: Dns;
}

// ---- Older result shapes, only at the edges ----

/** 0.3.0 / 0.3.1 / 0.4.0: interfaces without mtu/socketPath/pciID, ips with a `version`. */
export interface Interface040 {
  name: string;
  mac?: string;
  sandbox?: string;
}

export interface IpConfig040 {
  version: '4' | '6';
  address: string;
  gateway?: string;
  interface?: number;
}

export interface Result040 {
  cniVersion: string;
  interfaces?: Interface040[];
  ips?: IpConfig040[];
  routes?: Route[];
  dns?: Dns;
}

/** 0.1.0 / 0.2.0: at most one IPv4 and one IPv6 configuration, routes inside each. */
export interface IpConfig020 {
  ip: string;
  gateway?: string;
  routes?: Route[];
}

export interface Result020 {
  cniVersion: string;
  ip4?: IpConfig020;
  ip6?: IpConfig020;
  dns?: Dns;
}

/** A result in any version's shape, as printed or read. */
export type VersionedResult = Result | Result040 | Result020;

/** The VERSION reply. */
export interface VersionInfo {
  cniVersion: string;
  supportedVersions: string[];
}
