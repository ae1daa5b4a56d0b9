// Shared by the bridge-*.test.ts kernel tests: a simulated host (a namespace of its own) that runs a bridge
// plugin the way a runtime does — `ip netns exec HOST plugin`, a clean environment, CNI_PATH on the plugin's
// directory — containers as further namespaces, and witnesses that read the kernel with `ip -j`, `bridge -j`
// and `nft -j`.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { track } from './cleanup.ts';
import { cleanEnv, describeFailure, parseJsonOutput, run, runChecked, type CommandResult } from './command.ts';
import { distBin } from './cni.ts';
import { createNetns, type Netns } from './netns.ts';
import { startPluginHost, viaWeftd, type PluginHostProcess } from './plugin-host.ts';
import { ruleset } from './nat.ts';

/** dist/bin: weft's bridge with weft's host-local beside it. */
export const weftBinDir = dirname(distBin('bridge'));
/** Debian's containernetworking-plugins. */
export const referenceBinDir = '/usr/lib/cni';

export const network = 'wtnet';
export const bridgeName = 'wtbr0';

export type Command = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS' | 'VERSION';

export interface Attachment {
  readonly containerId: string;
  /** The container's namespace; a path string for one that does not exist. */
  readonly netns: Netns | string;
  readonly ifname?: string;
  readonly args?: string;
}

export interface RunOptions {
  /** CNI_PATH; the plugin's own directory by default. */
  readonly path?: string;
  /** A program run instead of the plugin (which follows as its arguments), e.g. to change the mounts. */
  readonly wrapper?: readonly string[];
  /** Omit CNI_NETNS (DEL allows it). */
  readonly noNetns?: boolean;
  /** The executable to run instead of `binDir`'s bridge. */
  readonly plugin?: string;
}

export interface Invocation {
  readonly file: string;
  readonly args: readonly string[];
  readonly env: Record<string, string>;
  readonly input: string;
}

export interface IpAddrInfo {
  family: 'inet' | 'inet6';
  local: string;
  prefixlen: number;
  tentative?: boolean;
  nodad?: boolean;
  dadfailed?: boolean;
}

export interface IpLink {
  ifindex: number;
  ifname: string;
  link?: string;
  master?: string;
  mtu: number;
  address: string;
  operstate: string;
  flags: string[];
  addr_info?: IpAddrInfo[];
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown>; info_slave_kind?: string; info_slave_data?: Record<string, unknown> };
}

export function netnsPathOf(target: Netns | string): string {
  return typeof target === 'string' ? target : target.path;
}

/** A namespace standing in for a host, with a private IPAM store, running one implementation's plugins. */
interface HostState {
  readonly netns: Netns;
  readonly dataDir: string;
  /** The host's weftd serving weft's plugins (WEFT_TEST_PLUGINS=weftd), started by the first call. */
  pluginHost?: PluginHostProcess;
}

export class BridgeHost {
  readonly netns: Netns;
  readonly dataDir: string;
  private readonly state: HostState;

  constructor(
    readonly binDir: string = weftBinDir,
    shared?: HostState,
  ) {
    if (shared) {
      this.state = shared;
    } else {
      const netns = createNetns('h');
      netns.ip('link', 'set', 'lo', 'up');
      const dataDir = mkdtempSync(join(tmpdir(), 'weft-bridge-ipam-'));
      track(`directory ${dataDir}`, () => rmSync(dataDir, { recursive: true, force: true }));
      this.state = { netns, dataDir };
    }
    this.netns = this.state.netns;
    this.dataDir = this.state.dataDir;
  }

  /** This host (namespace and IPAM store) running the plugins in `binDir` instead. */
  using(binDir: string): BridgeHost {
    return new BridgeHost(binDir, this.state);
  }

  /** In the weftd mode, the host's weftd, started when weft's plugins first run here. */
  private servePlugins(): void {
    if (!viaWeftd || this.binDir !== weftBinDir || this.state.pluginHost) return;
    const dir = mkdtempSync(join(tmpdir(), 'weft-bridge-weftd-'));
    track(`directory ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
    this.state.pluginHost = startPluginHost(this.netns, dir);
  }

  /** A network config for this host: the bridge plugin's fields, the IPAM store inside the test's folder. */
  config(fields: Record<string, unknown> = {}, cniVersion = '1.1.0'): Record<string, unknown> {
    const ipam = fields.ipam as Record<string, unknown> | undefined;
    return {
      cniVersion,
      name: network,
      type: 'bridge',
      bridge: bridgeName,
      ...fields,
      ...(ipam && ipam.type === 'host-local' && { ipam: { dataDir: this.dataDir, ...ipam } }),
    };
  }

  /** How a runtime on this host runs the plugin: `ip netns exec HOST [wrapper] plugin`, env and stdin. */
  invocation(command: Command, attachment: Attachment | undefined, config: unknown, options: RunOptions = {}): Invocation {
    const vars: Record<string, string> = { CNI_COMMAND: command, CNI_PATH: options.path ?? this.binDir };
    if (attachment) {
      vars.CNI_CONTAINERID = attachment.containerId;
      vars.CNI_IFNAME = attachment.ifname ?? 'eth0';
      if (!options.noNetns) vars.CNI_NETNS = netnsPathOf(attachment.netns);
      if (attachment.args !== undefined) vars.CNI_ARGS = attachment.args;
    }
    this.servePlugins();
    const plugin = options.plugin ?? join(this.binDir, 'bridge');
    const input = typeof config === 'string' ? config : JSON.stringify(config);
    return { file: 'ip', args: ['netns', 'exec', this.netns.name, ...(options.wrapper ?? []), plugin], env: cleanEnv(vars), input };
  }

  run(command: Command, attachment: Attachment | undefined, config: unknown, options: RunOptions = {}): CommandResult {
    const { file, args, env, input } = this.invocation(command, attachment, config, options);
    return run(file, args, { env, input });
  }

  /** ADD that must succeed; returns the result. */
  add<T = AddResult>(attachment: Attachment, config: unknown, options?: RunOptions): T {
    const result = this.run('ADD', attachment, config, options);
    if (result.status !== 0) throw new Error(describeFailure(result));
    return parseJsonOutput<T>(result);
  }

  /** A verb without a result that must succeed. */
  ok(command: Exclude<Command, 'ADD'>, attachment: Attachment | undefined, config: unknown, options?: RunOptions): void {
    const result = this.run(command, attachment, config, options);
    if (result.status !== 0 || result.stdout.trim() !== '') throw new Error(describeFailure(result));
  }

  /** The addresses the host's IPAM store holds for `name` (one file per address). */
  allocations(name = network): string[] {
    try {
      return readdirSync(join(this.dataDir, name)).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip.')).sort();
    } catch {
      return [];
    }
  }
}

/** The spec's error output of a failed run. */
export interface ErrorOutput {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

export function errorOf(result: CommandResult): ErrorOutput {
  if (result.status === 0) throw new Error(`expected a failure: ${describeFailure(result)}`);
  return parseJsonOutput<ErrorOutput>(result);
}

export interface AddResult {
  cniVersion: string;
  interfaces: Array<{ name: string; mac?: string; sandbox?: string }>;
  ips?: Array<{ address: string; gateway?: string; interface?: number }>;
  routes?: Array<{ dst: string; gw?: string }>;
  dns?: Record<string, unknown>;
}

export function links(ns: Netns): IpLink[] {
  return ns.ipJson<IpLink[]>('-d', 'link', 'show');
}

export function link(ns: Netns, name: string): IpLink {
  const found = links(ns).find((l) => l.ifname === name);
  if (!found) throw new Error(`no link ${name} in ${ns.name}`);
  return found;
}

export function addresses(ns: Netns, dev: string): string[] {
  const [entry] = ns.ipJson<IpLink[]>('addr', 'show', 'dev', dev);
  return (entry?.addr_info ?? []).filter((a) => !a.local.startsWith('fe80:')).map((a) => `${a.local}/${a.prefixlen}`);
}

export function addressInfo(ns: Netns, dev: string): IpAddrInfo[] {
  return ns.ipJson<IpLink[]>('addr', 'show', 'dev', dev)[0]?.addr_info ?? [];
}

export interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  flags?: string[];
}

export function routes(ns: Netns, family: '-4' | '-6'): IpRoute[] {
  return ns.ipJson<IpRoute[]>(family, 'route', 'show');
}

export function sysctl(ns: Netns, key: string): string {
  return runChecked('ip', ['netns', 'exec', ns.name, 'sysctl', '-n', key]).trim();
}

export interface BridgeVlanEntry {
  vlan: number;
  vlanEnd?: number;
  flags?: string[];
}

/** `bridge -j vlan show dev DEV`: the port's VLANs. */
export function portVlans(ns: Netns, dev: string): BridgeVlanEntry[] {
  const out = runChecked('bridge', ['-n', ns.name, '-j', 'vlan', 'show', 'dev', dev]);
  const entries = JSON.parse(out.trim() === '' ? '[]' : out) as Array<{ ifname: string; vlans: BridgeVlanEntry[] }>;
  return entries.find((e) => e.ifname === dev)?.vlans ?? [];
}

/** The ports of the bridge (names). */
export function ports(ns: Netns, bridge = bridgeName): string[] {
  return ns.ipJson<IpLink[]>('link', 'show', 'master', bridge).map((l) => l.ifname).sort();
}

/** The nftables chains weft made in `ns` (family, name and comment), and their rules as text. */
export function weftChains(ns: Netns): Array<{ family: string; name: string; rules: number }> {
  const witness = ruleset(ns);
  return witness.chains
    .filter((c) => c.table === 'weft')
    .map((c) => ({ family: c.family, name: c.name, rules: witness.rules.filter((r) => r.family === c.family && r.chain === c.name).length }));
}

/**
 * What a failed ADD must leave as it found: the host's links (with masters), addresses and routes, weft's
 * nftables chains and rules, the IPAM store, and the container's links and addresses.
 */
export function hostState(host: BridgeHost, container?: Netns): unknown {
  const linkView = (ns: Netns) => links(ns).map((l) => `${l.ifname} ${l.linkinfo?.info_kind ?? ''} ${l.master ?? ''}`).sort();
  const addrView = (ns: Netns) =>
    ns.ipJson<IpLink[]>('addr', 'show').flatMap((l) => (l.addr_info ?? []).filter((a) => !a.local.startsWith('fe80:')).map((a) => `${l.ifname} ${a.local}/${a.prefixlen}`)).sort();
  return {
    links: linkView(host.netns),
    addresses: addrView(host.netns),
    // `linkdown` is the device's carrier, not configuration: a bridge loses it when its last port goes, and
    // the kernel reports that asynchronously (linkwatch), so it may flip between two snapshots on its own.
    routes: [...routes(host.netns, '-4'), ...routes(host.netns, '-6')]
      .filter((r) => !r.dst.startsWith('fe80:'))
      .map((r) => ({ ...r, flags: (r.flags ?? []).filter((f) => f !== 'linkdown') })),
    nft: weftChains(host.netns),
    allocations: host.allocations(),
    ...(container && { container: { links: linkView(container), addresses: addrView(container) } }),
  };
}

let vlanFiltering: boolean | undefined;

/** Whether this kernel has VLAN-aware bridges (CONFIG_BRIDGE_VLAN_FILTERING); probed once in a namespace. */
export function kernelHasVlanFiltering(): boolean {
  if (vlanFiltering === undefined) {
    const probe = createNetns('vp');
    vlanFiltering = run('ip', ['-n', probe.name, 'link', 'add', 'probe0', 'type', 'bridge', 'vlan_filtering', '1']).status === 0;
    probe.remove();
  }
  return vlanFiltering;
}

/** A container: a fresh namespace with its loopback up, as a runtime leaves it before networking. */
export function createContainer(): Netns {
  const ns = createNetns('c');
  ns.ip('link', 'set', 'lo', 'up');
  return ns;
}
