import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { holdInstanceLock } from './instance-lock.ts';

const dir = mkdtempSync(join(tmpdir(), 'weft-instance-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('holdInstanceLock', () => {
  it('takes the state directory (made when missing) for this process, and refuses a second holder at once', () => {
    const stateDir = join(dir, 'state', 'weft');
    holdInstanceLock(stateDir);
    // Another process (util-linux flock, the same kernel lock) cannot take it.
    expect(spawnSync('flock', ['--nonblock', join(stateDir, 'weftd.lock'), 'true']).status).toBe(1);
    expect(() => holdInstanceLock(stateDir)).toThrow(expect.objectContaining({ msg: `another weftd is running with state directory ${stateDir}` }));
  });

  it('names "stateDir" when the path cannot be a directory', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    expect(() => holdInstanceLock(file)).toThrow(expect.objectContaining({ code: 7, msg: `"stateDir" ${file} cannot be used` }));
  });
});
