// Scratch directories for a test (plugin bin dirs, config dirs, caches), removed with everything else.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { track } from './cleanup.ts';

export function createTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `weft-${prefix}-`));
  track(`directory ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
