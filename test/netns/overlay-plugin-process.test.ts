// The built overlay executable as a runtime runs it, where weftd has written no lease yet and for bad
// input: the spec's error JSON and codes, and nothing made. Run inside a test namespace of its own.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { distBin, repoRoot } from './testing/cni.ts';
import { cleanEnv, run } from './testing/command.ts';
import { createTempDir } from './testing/files.ts';
import { createNetns, type Netns } from './testing/netns.ts';
import { cleanupAfterAll, describeAsRoot } from './testing/suite.ts';

cleanupAfterAll();

describeAsRoot('overlay executable without a lease, and with bad input', () => {
  let host: Netns;
  let container: Netns;
  let dir: string;

  beforeAll(() => {
    host = createNetns('op');
    container = createNetns('oc');
    dir = createTempDir('ovproc');
  });

  const config = (extra: object = {}) => ({
    cniVersion: '1.0.0', name: 'wtov', type: 'overlay',
    subnetFile: join(dir, 'subnet.env'), dataDir: join(dir, 'saved'), socket: join(dir, 'weftd.sock'), ...extra,
  });

  function overlay(command: string, stdin: unknown, vars: Record<string, string> = {}) {
    const attachment: Record<string, string> = command === 'STATUS' ? {} : { CNI_CONTAINERID: 'c1', CNI_NETNS: container.path, CNI_IFNAME: 'eth0' };
    const out = run('ip', ['netns', 'exec', host.name, distBin('overlay')], {
      env: cleanEnv({ CNI_COMMAND: command, CNI_PATH: `${repoRoot}dist/bin`, ...attachment, ...vars }),
      input: typeof stdin === 'string' ? stdin : JSON.stringify(stdin),
    });
    return { status: out.status, error: out.stdout === '' ? undefined : JSON.parse(out.stdout) as { code: number; msg: string; cniVersion: string } };
  }

  it('ADD says to try again later (11), STATUS says unavailable (50)', () => {
    expect(overlay('ADD', config())).toEqual({ status: 1, error: expect.objectContaining({ code: 11, cniVersion: '1.0.0', msg: expect.stringMatching(/subnet lease/) }) });
    expect(overlay('STATUS', config({ cniVersion: '1.1.0' }))).toEqual({ status: 1, error: expect.objectContaining({ code: 50 }) });
  });

  it('answers bad input with the spec\'s codes', () => {
    expect(overlay('ADD', '{"cniVersion": "1.0.0",').error?.code).toBe(6);
    expect(overlay('ADD', config({ cniVersion: '2.0.0' })).error?.code).toBe(1);
    expect(overlay('ADD', config({ dataDir: 'relative/dir' })).error?.code).toBe(7);
    expect(overlay('ADD', config(), { CNI_IFNAME: 'x'.repeat(16) }).error?.code).toBe(4);
  });

  it('DEL of an attachment never made succeeds; nothing was made anywhere', () => {
    expect(overlay('DEL', config())).toEqual({ status: 0, error: undefined });
    expect(existsSync(join(dir, 'saved'))).toBe(false);
    expect(host.ipJson('link', 'show')).toHaveLength(1);
    expect(container.ipJson('link', 'show')).toHaveLength(1);
  });
});
