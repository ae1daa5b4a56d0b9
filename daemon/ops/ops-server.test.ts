import { describe, expect, it } from 'vitest';
import { MetricsRegistry } from './metrics.ts';
import { BadRequest, startOpsServer } from './ops-server.ts';

describe('the operability server', () => {
  it('answers probes and metrics, and refuses the rest', async () => {
    const registry = new MetricsRegistry();
    registry.gauge('weft_up', 'Up.', () => 1);
    let ready = false;
    const server = await startOpsServer({
      host: '127.0.0.1', port: 0, metrics: registry,
      health: () => ({ ok: true, detail: 'ok' }),
      ready: () => (ready ? { ok: true, detail: 'ready' } : { ok: false, detail: 'no lease yet' }),
      status: () => ({ node: 'a', ready }),
    });
    const base = `http://127.0.0.1:${server.port}`;
    try {
      expect(await fetch(`${base}/healthz`).then(async (r) => [r.status, await r.text()])).toEqual([200, 'ok\n']);
      expect(await fetch(`${base}/readyz`).then(async (r) => [r.status, await r.text()])).toEqual([503, 'no lease yet\n']);
      ready = true;
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const metrics = await fetch(`${base}/metrics`);
      expect(metrics.headers.get('content-type')).toContain('version=0.0.4');
      expect(await metrics.text()).toContain('weft_up 1\n');
      const status = await fetch(`${base}/status`);
      expect(status.headers.get('content-type')).toBe('application/json');
      expect(await status.json()).toEqual({ node: 'a', ready: true });
      expect((await fetch(`${base}/nope`)).status).toBe(404);
      expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
    } finally {
      await server.close();
    }
  });

  it('gives series by peer only when asked past a small cluster, and answers a bad status query with 400', async () => {
    const registry = new MetricsRegistry();
    registry.gauge('weft_peers_by_verdict', 'Counts.', () => 5000);
    registry.gauge('weft_peer_path_verdict', 'By peer.', () => [{ labels: { peer: 'b' }, value: 1 }], { detail: true });
    let small = false;
    const server = await startOpsServer({
      host: '127.0.0.1', port: 0, metrics: registry, detailByDefault: () => small,
      health: () => ({ ok: true, detail: 'ok' }), ready: () => ({ ok: true, detail: 'ready' }),
      status: (params) => {
        if (params.has('limit')) throw new BadRequest('"limit" must be a whole number');
        return { after: params.get('after') };
      },
    });
    const base = `http://127.0.0.1:${server.port}`;
    try {
      expect(await fetch(`${base}/metrics`).then((r) => r.text())).not.toContain('weft_peer_path_verdict');
      expect(await fetch(`${base}/metrics?detail=peers`).then((r) => r.text())).toContain('weft_peer_path_verdict{peer="b"} 1');
      small = true;
      expect(await fetch(`${base}/metrics`).then((r) => r.text())).toContain('weft_peer_path_verdict');
      expect(await fetch(`${base}/status?after=10.0.0.0%2F24`).then((r) => r.json())).toEqual({ after: '10.0.0.0/24' });
      expect(await fetch(`${base}/status?limit=x`).then(async (r) => [r.status, await r.text()])).toEqual([400, '"limit" must be a whole number\n']);
    } finally {
      await server.close();
    }
  });

  it('names "listen" when its address is taken', async () => {
    const options = {
      host: '127.0.0.1', port: 0, metrics: new MetricsRegistry(),
      health: () => ({ ok: true, detail: 'ok' }), ready: () => ({ ok: true, detail: 'ready' }), status: () => ({}),
    };
    const first = await startOpsServer(options);
    try {
      await expect(startOpsServer({ ...options, port: first.port })).rejects.toMatchObject({
        code: 7, msg: `"listen" 127.0.0.1:${first.port} is in use`,
      });
    } finally {
      await first.close();
    }
  });
});
