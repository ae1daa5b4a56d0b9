// What a kernel test file calls at its top: root-only suites that say why they skip, and removal of
// everything the file made when it ends.
import { afterAll, describe } from 'vitest';
import { cleanupAll } from './cleanup.ts';

export const isRoot = process.getuid?.() === 0;

const skipNote = ' (skipped: needs root to create network namespaces)';

/** `describe` that runs only as root; when skipped, the reason is printed and shown in the suite's name. */
export function describeAsRoot(name: string, body: () => void): void {
  if (!isRoot) process.stderr.write(`${name}${skipNote}\n`);
  describe.skipIf(!isRoot)(isRoot ? name : `${name}${skipNote}`, body);
}

/** Call once at the top of a test file: removes what the file made when it ends, failing loudly if it cannot. */
export function cleanupAfterAll(): void {
  afterAll(() => {
    const failures = cleanupAll();
    if (failures.length > 0) throw new Error(`cleanup failed:\n${failures.join('\n')}`);
  });
}
