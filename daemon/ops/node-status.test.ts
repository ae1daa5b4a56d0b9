import { describe, expect, it } from 'vitest';
import { parseIp } from '../../lib/ip/address.ts';
import { parseCidr } from '../../lib/ip/cidr.ts';
import type { DataPathStats } from '../datapath/data-path.ts';
import type { DesiredDataPath, Peer } from '../datapath/desired-state.ts';
import type { Lease } from '../lease/lease.ts';
import { defaultPeerLimit, nodeStatus, peerPage, type DataPathReport } from './node-status.ts';

const t0 = Date.parse('2026-11-23T10:00:00.000Z');

function lease(nodeName: string, subnet: string, publicIp: string, expiresAt: number | null): Lease {
  return { nodeName, subnet, publicIp, vtepMac: '02:00:00:00:00:01', expiresAt, revision: 1 };
}

const own = lease('a', '10.244.1.0/24', '192.0.2.1', t0 + 3_600_000);
const b = lease('b', '10.244.2.0/24', '192.0.2.2', t0 + 1_800_000);
const c = lease('c', '10.244.3.0/24', '', null);

const stats: DataPathStats = {
  runs: 4, failedRuns: 1, changes: 9, deviceCreations: 1, lastRunAt: t0, lastRunMs: 1.5, lastError: undefined, natRuns: 1, natFailures: 0, kernelRuns: 0, notificationsLost: 0, incrementalRuns: 0, lastFullRunMs: 1.5,
};

const peerB: Peer = {
  nodeName: 'b', subnet: parseCidr('10.244.2.0/24'), publicIp: parseIp('192.0.2.2'), vtepMac: '02:00:00:00:00:01',
  gateways: [parseIp('10.244.2.0')], direct: false,
};

const desired = {
  peers: [peerB],
  skipped: [{ nodeName: 'c', subnet: '10.244.3.0/24', reason: 'no public address' }],
} as unknown as DesiredDataPath;

const report: DataPathReport = {
  stats,
  desired,
  probes: [{
    nodeName: 'b', publicIp: '192.0.2.2', verdict: 'vtep', since: t0 - 5000, checkedAt: t0,
    paths: {
      underlay: { sent: 3, answered: 3, lastOk: true, lastRttMs: 0.4, lastError: undefined, lastAnsweredBy: 'daemon' },
      vtep: { sent: 3, answered: 1, lastOk: false, lastRttMs: undefined, lastError: 'timed out', lastAnsweredBy: undefined },
    },
  }],
};

describe('nodeStatus', () => {
  it('joins the leases with the data path and the probe verdicts', () => {
    const status = nodeStatus({ nodeName: 'a', readiness: { ok: true, detail: 'ready' }, own, leases: [own, b, c], dataPath: report });
    expect(status).toEqual({
      node: 'a',
      ready: true,
      readiness: 'ready',
      lease: { subnet: '10.244.1.0/24', publicIp: '192.0.2.1', vtepMac: '02:00:00:00:00:01', expiresAt: '2026-11-23T11:00:00.000Z' },
      peers: [
        {
          nodeName: 'b',
          lease: { subnet: '10.244.2.0/24', publicIp: '192.0.2.2', vtepMac: '02:00:00:00:00:01', expiresAt: '2026-11-23T10:30:00.000Z' },
          via: 'vxlan',
          probe: {
            verdict: 'vtep', since: '2026-11-23T09:59:55.000Z', checkedAt: '2026-11-23T10:00:00.000Z',
            paths: {
              underlay: { ok: true, sent: 3, answered: 3, rttMs: 0.4, answeredBy: 'daemon' },
              vtep: { ok: false, sent: 3, answered: 1, error: 'timed out' },
            },
          },
        },
        { nodeName: 'c', lease: { subnet: '10.244.3.0/24', publicIp: '', vtepMac: '02:00:00:00:00:01', expiresAt: null }, via: null, probe: null },
      ],
      peerSummary: { total: 2, notProgrammed: 1, byVerdict: { vtep: 1, 'not probed': 1 } },
      nextAfter: null,
      reconcile: {
        runs: 4, failedRuns: 1, ok: true, lastRunAt: '2026-11-23T10:00:00.000Z', lastRunMs: 1.5, lastError: null, peersProgrammed: 1,
        skipped: [{ nodeName: 'c', subnet: '10.244.3.0/24', reason: 'no public address' }],
      },
    });
  });

  it('matches peers by lease: a second, skipped lease of a programmed node is neither programmed nor probed', () => {
    const second = lease('b', '10.244.9.0/24', '192.0.2.2', t0 + 1_800_000);
    const status = nodeStatus({ nodeName: 'a', readiness: { ok: true, detail: 'ready' }, own, leases: [own, b, second], dataPath: report });
    expect(status.peers.map((p) => [p.lease.subnet, p.via, p.probe?.verdict ?? null])).toEqual([
      ['10.244.2.0/24', 'vxlan', 'vtep'],
      ['10.244.9.0/24', null, null],
    ]);
  });

  it('reports a failed last run, and nothing of a data path that has not started', () => {
    const failed = nodeStatus({
      nodeName: 'a', readiness: { ok: true, detail: 'ready' }, own, leases: [own],
      dataPath: { ...report, stats: { ...stats, lastError: 'EPERM' } },
    });
    expect(failed.reconcile).toMatchObject({ ok: false, lastError: 'EPERM' });
    const starting = nodeStatus({ nodeName: 'a', readiness: { ok: false, detail: 'acquiring a subnet lease' }, own: undefined, leases: [], dataPath: undefined });
    expect(starting).toEqual({
      node: 'a', ready: false, readiness: 'acquiring a subnet lease', lease: null, peers: [],
      peerSummary: { total: 0, notProgrammed: 0, byVerdict: {} }, nextAfter: null, reconcile: null,
    });
  });

  it('gives the peers of a large cluster a page at a time, in subnet order, with counts over all of them', () => {
    const many = Array.from({ length: 250 }, (_, i) => lease(`n${i}`, `10.${i >> 8}.${i & 255}.0/24`, '192.0.2.9', t0));
    const input = { nodeName: 'a', readiness: { ok: true, detail: 'ready' }, own, leases: [...many, own], dataPath: report };
    const first = nodeStatus(input);
    expect(first.peers).toHaveLength(defaultPeerLimit);
    expect(first.peerSummary).toEqual({ total: 250, notProgrammed: 250, byVerdict: { 'not probed': 250 } });
    expect(first.nextAfter).toBe('10.0.99.0/24');
    const pages: string[] = first.peers.map((p) => p.lease.subnet);
    for (let after = first.nextAfter; after !== null;) {
      const page = nodeStatus({ ...input, page: { after, limit: defaultPeerLimit } });
      pages.push(...page.peers.map((p) => p.lease.subnet));
      after = page.nextAfter;
    }
    expect(pages).toEqual(many.map((l) => l.subnet));
    expect(nodeStatus({ ...input, page: { limit: 0 } })).toMatchObject({ peers: [], peerSummary: { total: 250 } });
  });

  it('reads a page from a query, and says what is wrong with a bad one', () => {
    expect(peerPage(new URLSearchParams(''))).toEqual({ limit: defaultPeerLimit });
    expect(peerPage(new URLSearchParams('limit=5000&after=10.0.3.0/24'))).toEqual({ limit: 5000, after: '10.0.3.0/24' });
    expect(peerPage(new URLSearchParams('limit=-1'))).toMatch(/"limit" must be a whole number/);
    expect(peerPage(new URLSearchParams('after=node-b'))).toMatch(/"after" must be a subnet/);
  });
});
