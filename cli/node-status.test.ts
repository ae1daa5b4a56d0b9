import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeStatus } from '../lib/weftd-api/node-status.ts';
import { CniError } from '../lib/cni/errors.ts';
import { fetchNodeStatus, formatDuration, formatNodeStatus, statusUrl } from './node-status.ts';

const now = Date.parse('2026-11-23T10:00:00.000Z');

const status: NodeStatus = {
  node: 'node-a',
  ready: true,
  readiness: 'ready: 10.244.1.0/24',
  lease: { subnet: '10.244.1.0/24', publicIp: '192.0.2.1', vtepMac: '02:00:00:00:00:0a', expiresAt: '2026-11-23T10:59:30.000Z' },
  peers: [
    {
      nodeName: 'node-b',
      lease: { subnet: '10.244.2.0/24', publicIp: '192.0.2.2', vtepMac: '02:00:00:00:00:0b', expiresAt: '2026-11-23T10:30:00.000Z' },
      via: 'vxlan',
      probe: {
        verdict: 'healthy', since: '2026-11-23T09:00:00.000Z', checkedAt: '2026-11-23T09:59:58.000Z',
        paths: {
          kernel: { ok: true, sent: 9, answered: 9, rttMs: 0.42 },
          vtep: { ok: true, sent: 9, answered: 9, rttMs: 0.31 },
          underlay: { ok: true, sent: 9, answered: 9, rttMs: 0.2 },
        },
      },
    },
    {
      nodeName: 'node-c',
      lease: { subnet: '10.244.3.0/24', publicIp: '192.0.2.3', vtepMac: '02:00:00:00:00:0c', expiresAt: null },
      via: 'vxlan',
      probe: {
        verdict: 'vtep', since: '2026-11-23T09:59:00.000Z', checkedAt: '2026-11-23T09:59:58.000Z',
        paths: {
          kernel: { ok: false, sent: 9, answered: 0, error: 'timed out' },
          vtep: { ok: false, sent: 9, answered: 0 },
          underlay: { ok: true, sent: 9, answered: 9, rttMs: 0.25 },
        },
      },
    },
    { nodeName: 'node-d', lease: { subnet: '10.244.4.0/24', publicIp: '', vtepMac: '', expiresAt: '2026-11-23T09:59:00.000Z' }, via: null, probe: null },
  ],
  peerSummary: { total: 3, notProgrammed: 1, byVerdict: { healthy: 1, vtep: 1, 'not probed': 1 } },
  nextAfter: null,
  reconcile: {
    runs: 12, failedRuns: 1, ok: true, lastRunAt: '2026-11-23T09:59:57.000Z', lastRunMs: 1.27, lastError: null, peersProgrammed: 2,
    skipped: [{ nodeName: 'node-d', subnet: '10.244.4.0/24', reason: 'no public address' }],
  },
};

describe('formatNodeStatus', () => {
  it('prints the lease, the reconcile and a peer table with each path, and explains unhealthy verdicts', () => {
    expect(formatNodeStatus(status, now)).toBe([
      'node       node-a: ready (ready: 10.244.1.0/24)',
      'lease      10.244.1.0/24, public IP 192.0.2.1, VTEP MAC 02:00:00:00:00:0a, expires in 59m 30s',
      'reconcile  ok, last run 3s ago took 1.3 ms, 12 runs (1 failed), 2 peers programmed',
      '           left out: node-d 10.244.4.0/24: no public address',
      '',
      'PEER    SUBNET         PUBLIC IP  LEASE EXPIRES      VIA             VERDICT         KERNEL     VTEP       UNDERLAY',
      'node-b  10.244.2.0/24  192.0.2.2  in 30m 0s          vxlan           healthy         ok 0.4 ms  ok 0.3 ms  ok 0.2 ms',
      'node-c  10.244.3.0/24  192.0.2.3  reserved           vxlan           vtep            no answer  no answer  ok 0.3 ms',
      'node-d  10.244.4.0/24  -          expired 1m 0s ago  not programmed  not probed yet  -          -          -',
      '',
      'node-c: vtep since 1m 0s ago: VXLAN between the nodes fails though the underlay answers (a VTEP does not decapsulate)',
      '',
    ].join('\n'));
  });

  it('says what is missing while the daemon starts', () => {
    const starting: NodeStatus = { node: 'node-a', ready: false, readiness: 'acquiring a subnet lease', lease: null, peers: [], peerSummary: { total: 0, notProgrammed: 0, byVerdict: {} }, nextAfter: null, reconcile: null };
    expect(formatNodeStatus(starting, now)).toBe([
      'node       node-a: NOT READY (acquiring a subnet lease)',
      'lease      none yet',
      'reconcile  not running (the data path starts once the lease is held)',
      'peers      none',
      '',
    ].join('\n'));
  });

  it('says how many peers a page of a large cluster leaves out, by verdict, and where the next page starts', () => {
    const paged: NodeStatus = {
      ...status,
      peers: status.peers.slice(0, 1),
      peerSummary: { total: 5000, notProgrammed: 2, byVerdict: { healthy: 4990, underlay: 10 } },
      nextAfter: '10.244.2.0/24',
    };
    expect(formatNodeStatus(paged, now)).toContain(
      '\npeers      1 of 5000 shown (healthy 4990, underlay 10; 2 not programmed); the next page: /status?after=10.244.2.0/24\n');
  });

  it('shows a failed run with its error, and IPv6 subnets', () => {
    const failed: NodeStatus = {
      ...status,
      lease: { ...status.lease!, ipv6Subnet: 'fd00:10:1::/64' },
      peers: [],
      reconcile: { ...status.reconcile!, ok: false, lastError: 'adding route: EPERM', skipped: [] },
    };
    const lines = formatNodeStatus(failed, now).split('\n');
    expect(lines[1]).toBe('lease      10.244.1.0/24 fd00:10:1::/64, public IP 192.0.2.1, VTEP MAC 02:00:00:00:00:0a, expires in 59m 30s');
    expect(lines.slice(2, 4)).toEqual([
      'reconcile  FAILED, last run 3s ago took 1.3 ms, 12 runs (1 failed), 2 peers programmed',
      '           error: adding route: EPERM',
    ]);
  });
});

describe('formatDuration', () => {
  it('is coarse', () => {
    expect([450, 5_000, 200_000, 3_900_000, 90_000_000].map(formatDuration)).toEqual(['450 ms', '5s', '3m 20s', '1h 5m', '1d 1h']);
  });
});

describe('fetchNodeStatus', () => {
  let server: Server;
  let base: string;
  let answer: { status: number; body: string } = { status: 200, body: JSON.stringify(status) };

  beforeAll(async () => {
    server = createServer((req, res) => {
      res.writeHead(req.url === '/status' ? answer.status : 404).end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('reads /status below the base URL', async () => {
    expect(statusUrl('http://127.0.0.1:9475/')).toBe('http://127.0.0.1:9475/status');
    expect(await fetchNodeStatus(`${base}/`)).toEqual(status);
  });

  it('fails with code 199 on an error status or a body that is not JSON', async () => {
    answer = { status: 503, body: 'stopping' };
    await expect(fetchNodeStatus(base)).rejects.toMatchObject({ code: 199, msg: `weftd answered 503 at ${base}/status`, details: 'stopping' });
    answer = { status: 200, body: '<html>' };
    await expect(fetchNodeStatus(base)).rejects.toMatchObject({ code: 199, msg: `weftd's answer at ${base}/status is not JSON` });
  });

  it('fails with code 11 when nothing answers', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = await fetchNodeStatus(`http://127.0.0.1:${port}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniError);
    expect(err).toMatchObject({ code: 11, details: expect.stringContaining('ECONNREFUSED') });
  });
});
