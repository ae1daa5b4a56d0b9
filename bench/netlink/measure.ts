// The in-process half of bench/netlink/netlink.bench.mjs (which bundles this file, runs it in a clean
// environment and prints the comparison). One scenario per run, its figures as JSON on stdout.
//   switch  NS N            namespace switch cost: socket / sysctl opened in NS versus here
//   veth    NS N single|batch   create N veth pairs, then delete them
//   routes  NS N single|batch   install N routes via a gateway
import { parseIp } from '../../lib/ip/address.ts';
import { parseCidr } from '../../lib/ip/cidr.ts';
import { Netlink, sysctlGet } from '../../lib/netlink/index.ts';

const [scenario, nsPath, countText, mode] = process.argv.slice(2);
const count = Number(countText);

function timed(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Microseconds per call of `fn`, after a warm-up. */
function perCall(n: number, fn: () => void): number {
  for (let i = 0; i < Math.min(n, 200); i++) fn();
  return (timed(() => {
    for (let i = 0; i < n; i++) fn();
  }) * 1000) / n;
}

function switchCost(): Record<string, number> {
  const socketHere = perCall(count, () => Netlink.open().close());
  const socketThere = perCall(count, () => Netlink.open(nsPath).close());
  const sysctlHere = perCall(count, () => sysctlGet(undefined, 'net/ipv4/ip_forward'));
  const sysctlThere = perCall(count, () => sysctlGet(nsPath, 'net/ipv4/ip_forward'));
  return {
    socketHereUs: socketHere,
    socketInNamespaceUs: socketThere,
    sysctlHereUs: sysctlHere,
    sysctlInNamespaceUs: sysctlThere,
    switchUs: Math.max(socketThere - socketHere, sysctlThere - sysctlHere),
  };
}

/** Runs `each(target, i)` for i < count, one request at a time or as one batch. */
function apply(nl: Netlink, each: (target: Pick<Netlink, 'linkAdd' | 'linkDel' | 'routeAdd'>, i: number) => void): number {
  return timed(() => {
    if (mode === 'batch') {
      const b = nl.batch();
      for (let i = 0; i < count; i++) each(b, i);
      b.commit();
    } else {
      for (let i = 0; i < count; i++) each(nl, i);
    }
  });
}

function veth(): Record<string, number> {
  const nl = Netlink.open(nsPath);
  try {
    const createMs = apply(nl, (t, i) => t.linkAdd({ kind: 'veth', name: `v${i}`, peer: { name: `v${i}p` } }));
    const deleteMs = apply(nl, (t, i) => t.linkDel(`v${i}`));
    return { createMs, deleteMs, totalMs: createMs + deleteMs };
  } finally {
    nl.close();
  }
}

function routes(): Record<string, number> {
  const nl = Netlink.open(nsPath);
  try {
    nl.linkAdd({ kind: 'veth', name: 'r0', up: true, peer: { name: 'r0p' } });
    nl.linkSetUp('r0p');
    nl.addrAdd({ link: 'r0', address: parseCidr('10.0.0.1/24') });
    const link = nl.linkIndex('r0');
    const gw = parseIp('10.0.0.2');
    const addMs = apply(nl, (t, i) => t.routeAdd({ dst: { address: { family: 4, value: BigInt(0x0a000000 + ((i + 256) << 8)) }, prefix: 24 }, gw, link }));
    const installed = nl.routeList({ link }).filter((r) => r.gw).length;
    if (installed !== count) throw new Error(`${installed} routes installed, expected ${count}`);
    return { addMs };
  } finally {
    nl.close();
  }
}

const scenarios: Record<string, () => Record<string, number>> = { switch: switchCost, veth, routes };
const run = scenario ? scenarios[scenario] : undefined;
if (!run || !nsPath || !Number.isInteger(count)) {
  process.stderr.write('usage: measure switch|veth|routes NS_PATH COUNT [single|batch]\n');
  process.exit(2);
}
process.stdout.write(`${JSON.stringify(run())}\n`);
