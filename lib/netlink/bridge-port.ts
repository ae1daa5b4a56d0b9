// Options of a bridge port (IFLA_BRPORT_*): written inside IFLA_PROTINFO (RTM_SETLINK, AF_BRIDGE) and
// read from a port's IFLA_INFO_SLAVE_DATA.
import type { Attrs, MessageWriter } from './codec.ts';

/** On/off options by IFLA_BRPORT_* number. */
const portSwitches = {
  /** Reflect frames back out of the port they came in by (a container reaching itself via a service). */
  hairpin: 4,
  guard: 5,
  fastLeave: 7,
  learning: 8,
  unicastFlood: 9,
  proxyArp: 10,
  multicastFlood: 27,
  broadcastFlood: 30,
  neighSuppress: 32,
  /** Isolated ports may talk only to non-isolated ports. */
  isolated: 33,
} as const;
type PortSwitch = keyof typeof portSwitches;

const IFLA_BRPORT_PRIORITY = 2;
const IFLA_BRPORT_COST = 3;

export interface BridgePortOptions extends Partial<Record<PortSwitch, boolean>> {
  readonly cost?: number;
  readonly priority?: number;
}

export function writeBridgePort(w: MessageWriter, o: BridgePortOptions): void {
  for (const [name, type] of Object.entries(portSwitches) as Array<[PortSwitch, number]>) {
    const on = o[name];
    if (on !== undefined) w.attrU8(type, on ? 1 : 0);
  }
  if (o.priority !== undefined) w.attrU16(IFLA_BRPORT_PRIORITY, o.priority);
  if (o.cost !== undefined) w.attrU32(IFLA_BRPORT_COST, o.cost);
}

/** What the kernel reports of a port (every option it knows). */
export function readBridgePort(a: Attrs): BridgePortOptions {
  const out: Record<string, boolean | number> = {};
  for (const [name, type] of Object.entries(portSwitches)) {
    const on = a.bool(type);
    if (on !== undefined) out[name] = on;
  }
  const priority = a.u16(IFLA_BRPORT_PRIORITY);
  const cost = a.u32(IFLA_BRPORT_COST);
  if (priority !== undefined) out.priority = priority;
  if (cost !== undefined) out.cost = cost;
  return out as BridgePortOptions;
}

export function describeBridgePort(o: BridgePortOptions): string {
  return Object.entries(o)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k} ${typeof v === 'boolean' ? (v ? 'on' : 'off') : v}`)
    .join(' ');
}
