import { describe, expect, it } from 'vitest';
import { downAfterRounds, NodeHealth } from './node-health.ts';

describe('NodeHealth', () => {
  it('serves a leased peer until it fails two rounds in a row, and again after one good round', () => {
    const health = new NodeHealth('na');
    let changes = 0;
    health.onChange(() => changes++);
    health.leasesChanged(['na', 'nb']);
    expect(changes).toBe(1);
    // Not probed yet: a daemon that just started trusts the leases.
    expect(health.state('nb')).toBe('serving');
    health.probed([{ nodeName: 'nb', verdict: 'underlay' }]);
    expect(health.isServing('nb')).toBe(true);
    expect(downAfterRounds).toBe(2);
    health.probed([{ nodeName: 'nb', verdict: 'vtep' }]);
    expect(health.state('nb')).toBe('down');
    expect(health.isServing('nb')).toBe(false);
    expect(changes).toBe(2);
    health.probed([{ nodeName: 'nb', verdict: 'underlay' }]);
    expect(changes).toBe(2);
    health.probed([{ nodeName: 'nb', verdict: 'healthy' }]);
    expect(health.state('nb')).toBe('serving');
    expect(changes).toBe(3);
  });

  it('says gone for a node without a lease, and serving for itself always', () => {
    const health = new NodeHealth('na');
    expect(health.state('na')).toBe('serving');
    expect(health.state('nb')).toBe('gone');
    health.leasesChanged(['nb']);
    for (let i = 0; i < downAfterRounds; i++) health.probed([{ nodeName: 'nb', verdict: 'underlay' }]);
    expect(health.state('nb')).toBe('down');
    health.leasesChanged([]);
    expect(health.state('nb')).toBe('gone');
  });

  it('forgets the failures of a peer no longer probed', () => {
    const health = new NodeHealth('na');
    health.leasesChanged(['nb', 'nc']);
    for (let i = 0; i < downAfterRounds; i++) health.probed([{ nodeName: 'nb', verdict: 'underlay' }, { nodeName: 'nc', verdict: 'healthy' }]);
    expect(health.state('nb')).toBe('down');
    health.probed([{ nodeName: 'nc', verdict: 'healthy' }]);
    expect(health.state('nb')).toBe('serving');
  });
});
