// The prober over loopback, on a port the kernel picked (nothing fixed is bound): underlay probes between
// two probers are answered; ghosts are not (their overlay address is a socket that reads and never
// answers: with nothing bound there, the kernel's port-unreachable would count as an answer). Loopback has
// no VTEP, so a live peer's verdict here is "vtep" and a ghost's "underlay".
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { parseIp } from '../../lib/ip/address.ts';
import { parseCidr } from '../../lib/ip/cidr.ts';
import { Logger } from '../log.ts';
import type { Peer } from './desired-state.ts';
import { OverlayProber, type ProberSelf } from './probe.ts';
import { changesLoggedEach } from './probe-round.ts';

async function freePort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind({ address: '127.0.0.1', port: 0 }, resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

function node(n: number): { self: ProberSelf; peer: Peer } {
  const publicIp = parseIp(`127.0.${n >> 8}.${(n & 255) + 1}`);
  const gateway = parseIp(`127.1.${n >> 8}.${(n & 255) + 1}`);
  const vtepMac = `02:00:00:00:${(n >> 8).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}`;
  return {
    self: { nodeName: `n${n}`, publicIp, bindAddress: publicIp, vtepMac, gateways: [gateway] },
    peer: { nodeName: `n${n}`, subnet: parseCidr(`10.${n >> 8}.${n & 255}.0/24`), publicIp, vtepMac, gateways: [gateway], direct: false },
  };
}

const probers: OverlayProber[] = [];
const sinks: Socket[] = [];
afterEach(async () => {
  for (const p of probers.splice(0)) await p.stop();
  for (const s of sinks.splice(0)) s.close();
});

describe('OverlayProber', () => {
  it('spreads a round over the interval, answers and judges each peer, and sums up mass changes in one line', async () => {
    const probePort = await freePort();
    const lines: Array<Record<string, unknown>> = [];
    const log = new Logger('info', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
    const options = { vni: 1, vxlanPort: 4789, probePort, intervalMs: 1500, timeoutMs: 200 };
    const a = new OverlayProber({ ...options, log });
    const b = new OverlayProber({ ...options, log: new Logger('error', () => undefined) });
    probers.push(a, b);
    const sink = createSocket('udp4');
    await new Promise<void>((resolve) => sink.bind({ address: '127.2.0.1', port: probePort }, resolve));
    sinks.push(sink);
    const ghosts = Array.from({ length: 200 }, (_, i) => ({ ...node(i + 10).peer, gateways: [parseIp('127.2.0.1')] }));
    await a.configure(node(1).self, [node(2).peer, ...ghosts]);
    await b.configure(node(2).self, [node(1).peer]);

    const started = Date.now();
    const results = await a.round();
    const tookMs = Date.now() - started;
    expect(results).toHaveLength(201);
    expect(results[0]).toMatchObject({ nodeName: 'n2', verdict: 'vtep', paths: { underlay: { lastOk: true, answered: 1 } } });
    expect(results.slice(1).every((r) => r.verdict === 'underlay')).toBe(true);
    // Spread: the last slice went out most of the interval after the first; the round still fits in it.
    const checked = results.map((r) => r.checkedAt);
    expect(Math.max(...checked) - Math.min(...checked)).toBeGreaterThan(1000);
    expect(tookMs).toBeLessThan(1500 + 500);
    // 201 changes: the first few one by one, the rest once.
    const each = lines.filter((l) => l.msg === 'peer path health changed');
    expect(each).toHaveLength(changesLoggedEach);
    expect(lines.filter((l) => l.msg !== 'peer path health changed')).toEqual([
      expect.objectContaining({ level: 'warn', msg: `${201 - changesLoggedEach} more peers changed path health this round`, to: { underlay: 201 - changesLoggedEach } }),
    ]);
  });
});
