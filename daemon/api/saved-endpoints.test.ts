import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeSaved } from '../../lib/weftd-api/saved-attachment.ts';
import { Logger } from '../log.ts';
import { savedEndpoints } from './saved-endpoints.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wt-saved-ep-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('savedEndpoints', () => {
  it('reads the endpoints the plugin saved, as this node\'s, skipping attachments without one and bad files', async () => {
    const lines: string[] = [];
    const log = new Logger('info', (line) => lines.push(line));
    const bridge = { type: 'bridge' };
    await writeSaved(dir, { containerId: 'c1', ifName: 'eth0' }, { bridge, endpoint: { service: 'echo', containerId: 'c1', address: '10.244.3.5', ports: [{ port: 80 }] } });
    await writeSaved(dir, { containerId: 'c2', ifName: 'eth0' }, { bridge });
    await writeSaved(dir, { containerId: 'c3', ifName: 'eth0' }, { bridge, endpoint: { service: 'Bad Name', containerId: 'c3', address: '10.244.3.7' } });
    writeFileSync(join(dir, 'c4@eth0.json'), 'not json');
    const endpoints = await savedEndpoints(dir, 'node-a', log);
    expect(endpoints).toEqual([{
      service: 'echo', containerId: 'c1', node: 'node-a', address: '10.244.3.5', addresses: ['10.244.3.5'], ports: [{ name: '', port: 80, protocol: 'tcp' }], labels: {}, health: 'unknown',
    }]);
    expect(lines.filter((l) => l.includes('skipping a saved overlay attachment'))).toHaveLength(2);
  });

  it('finds none when the plugin never ran', async () => {
    expect(await savedEndpoints(join(dir, 'absent'), 'node-a', new Logger('error', () => {}))).toEqual([]);
  });
});
