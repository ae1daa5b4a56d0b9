// Shared by the overlay-*.test.ts kernel tests: simulated hosts on one underlay, a container behind a
// bridge on each host's subnet, pings between containers, and captures of the underlay decoded with
// lib/vxlan/testing. Everything lives in namespaces the test made; nothing touches the root namespace.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeFrame, type DecodedFrame } from '../../../lib/vxlan/testing/frame-decoder.ts';
import { linkTypeEthernet, readPcap } from '../../../lib/vxlan/testing/pcap.ts';
import { track } from './cleanup.ts';
import { run } from './command.ts';
import { createTempDir } from './files.ts';
import { createHost, createUnderlay, type SimulatedHost, type Underlay } from './hosts.ts';
import { createNetns, type Netns } from './netns.ts';

export interface OverlayHost extends SimulatedHost {
  /** 1-based position: underlay address 192.0.2.<n>, subnet 10.244.<n>.0/24. */
  readonly n: number;
  readonly underlayAddress: string;
}

/** `count` hosts on one underlay segment, 192.0.2.1/24 upwards. */
export function createOverlayHosts(count: number): { underlay: Underlay; hosts: OverlayHost[] } {
  const underlay = createUnderlay('ou');
  const hosts = Array.from({ length: count }, (_, i) => {
    const n = i + 1;
    const host = createHost(underlay, `192.0.2.${n}/24`, 'oh');
    return { ...host, n, underlayAddress: `192.0.2.${n}` };
  });
  return { underlay, hosts };
}

/** The ifindex of `name` in `ns`. */
export function linkIndexIn(ns: Netns, name: string): number {
  const [link] = ns.ipJson<Array<{ ifindex: number }>>('link', 'show', name);
  if (!link) throw new Error(`no link ${name} in ${ns.name}`);
  return link.ifindex;
}

export interface Container {
  readonly netns: Netns;
  readonly address: string;
  readonly address6?: string;
}

/**
 * A container namespace behind a bridge on `host`, on the host's subnet the way the overlay CNI plugin
 * will set it up: bridge `cbr0` with the subnet's first address, the container at `.2`, default route via
 * the bridge, MTU `mtu` (the overlay's).
 */
export function addContainer(host: Netns, subnet4: string, mtu: number, subnet6?: string): Container {
  const netns = createNetns('oc');
  const base4 = subnet4.replace(/\.0\/\d+$/, '');
  host.ip('link', 'add', 'cbr0', 'type', 'bridge');
  host.ip('addr', 'add', `${base4}.1/24`, 'dev', 'cbr0');
  host.ip('link', 'set', 'cbr0', 'up');
  host.ip('link', 'add', 'cveth', 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns.name);
  host.ip('link', 'set', 'cveth', 'master', 'cbr0', 'up');
  netns.ip('link', 'set', 'lo', 'up');
  netns.ip('addr', 'add', `${base4}.2/24`, 'dev', 'eth0');
  netns.ip('link', 'set', 'eth0', 'up');
  netns.ip('route', 'add', 'default', 'via', `${base4}.1`);
  if (!subnet6) return { netns, address: `${base4}.2` };
  const base6 = subnet6.replace(/::\/\d+$/, '');
  host.ip('addr', 'add', `${base6}::1/64`, 'dev', 'cbr0', 'nodad');
  netns.ip('addr', 'add', `${base6}::2/64`, 'dev', 'eth0', 'nodad');
  netns.ip('-6', 'route', 'add', 'default', 'via', `${base6}::1`);
  return { netns, address: `${base4}.2`, address6: `${base6}::2` };
}

/** Pings `to` from inside `from`; true when every echo came back. */
export function pingOk(from: Netns, to: string, count = 2): boolean {
  const family = to.includes(':') ? '-6' : '-4';
  return run('ip', ['netns', 'exec', from.name, 'ping', family, '-n', '-q', '-c', String(count), '-i', '0.2', '-W', '2', to]).status === 0;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it holds, or throws with `what` once `timeoutMs` has passed (a bound for failing, not a measure). */
export async function eventually(what: string, check: () => boolean, timeoutMs = 10_000, stepMs = 50): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (check()) return;
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(stepMs);
  }
}

export interface Capture {
  /** Stops the capture and decodes every frame it saw. */
  stop(): Promise<DecodedFrame[]>;
}

/** Captures frames on the underlay bridge (tcpdump inside the underlay namespace) matching `filter`. */
export async function captureUnderlay(underlay: Underlay, filter: string, vxlanPorts: number[] = [4789]): Promise<Capture> {
  const file = join(createTempDir('cap'), 'underlay.pcap');
  // `ip netns exec` execs tcpdump in place: the child's pid is tcpdump's own. Immediate mode: without it,
  // frames wait in the kernel's ring for a block timeout and SIGINT ends tcpdump before it reads them.
  const child = spawn('ip', ['netns', 'exec', underlay.netns.name, 'tcpdump', '-i', underlay.bridge, '-n', '--immediate-mode', '-U', '-w', file, ...filter.split(' ')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const release = track(`tcpdump pid ${child.pid}`, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('listening on')) resolve();
    });
    child.once('exit', () => reject(new Error(`tcpdump exited: ${stderr}`)));
  });
  return {
    async stop() {
      // Let frames in flight be written before tcpdump is asked to finish.
      await sleep(200);
      child.kill('SIGINT');
      await exited;
      release();
      const capture = readPcap(readFileSync(file));
      if (capture.linkType !== linkTypeEthernet) throw new Error(`capture link type ${capture.linkType}, expected Ethernet`);
      return capture.records.map((r) => decodeFrame(r.data, { vxlanPorts }));
    },
  };
}
