// Simulated hosts: each is a namespace with its own underlay veth into a bridge that lives in a
// test-made underlay namespace, so multi-host tests never touch the root namespace.
import { createNetns, type Netns } from './netns.ts';

/** The underlay interface's name inside every simulated host. */
export const underlayInterface = 'ul0';
const bridgeName = 'br0';

export interface Underlay {
  readonly netns: Netns;
  readonly bridge: string;
}

export interface SimulatedHost {
  readonly netns: Netns;
  readonly underlay: Underlay;
  /** Interface name inside the host namespace. */
  readonly interface: string;
  /** CIDR on the host's underlay interface, e.g. `192.0.2.1/24`. */
  readonly address: string;
}

export function createUnderlay(prefix = 'ul'): Underlay {
  const netns = createNetns(prefix);
  netns.ip('link', 'set', 'lo', 'up');
  netns.ip('link', 'add', bridgeName, 'type', 'bridge');
  netns.ip('link', 'set', bridgeName, 'up');
  return { netns, bridge: bridgeName };
}

/**
 * A namespace with `ul0` carrying `address`, cabled into the underlay bridge. The bridge-side end is
 * named after the host namespace, unique by construction; deleting the host namespace removes the pair.
 */
export function createHost(underlay: Underlay, address: string, prefix = 'h'): SimulatedHost {
  const netns = createNetns(prefix);
  const port = netns.name;
  underlay.netns.ip('link', 'add', port, 'type', 'veth', 'peer', 'name', underlayInterface, 'netns', netns.name);
  underlay.netns.ip('link', 'set', port, 'master', underlay.bridge, 'up');
  netns.ip('link', 'set', 'lo', 'up');
  netns.ip('addr', 'add', address, 'dev', underlayInterface);
  netns.ip('link', 'set', underlayInterface, 'up');
  return { netns, underlay, interface: underlayInterface, address };
}
