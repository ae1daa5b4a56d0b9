// Installs the recorder test plugin (recorder-plugin.mjs) under any type names into a CNI bin directory,
// and reads back what it recorded.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./recorder-plugin.mjs', import.meta.url));

/** One plugin execution as the recorder saw it. */
export interface Invocation {
  readonly command: string;
  readonly env: Record<string, string>;
  readonly config: Record<string, unknown> & { prevResult?: Record<string, unknown> };
}

/** Writes an executable `binDir/<type>` for each type; a shell wrapper so it runs under any PATH. */
export function installRecorder(binDir: string, types: readonly string[]): void {
  for (const type of types) {
    const file = join(binDir, type);
    writeFileSync(file, `#!/bin/sh\nexec '${process.execPath}' '${script}' "$@"\n`);
    chmodSync(file, 0o755);
  }
}

export function readInvocations(recordFile: string): Invocation[] {
  if (!existsSync(recordFile)) return [];
  return readFileSync(recordFile, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Invocation);
}
