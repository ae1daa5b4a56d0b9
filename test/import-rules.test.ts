// The import rules (.dependency-cruiser.cjs) fail on wrong imports and name the rule: a throwaway tree with
// one import of each forbidden kind, and the allowed edges beside them, cruised with the repository's config.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const tree = mkdtempSync(join(tmpdir(), 'weft-imports-'));
afterAll(() => rmSync(tree, { recursive: true, force: true }));

function write(files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(tree, path)), { recursive: true });
    writeFileSync(join(tree, path), text);
  }
}

describe('import rules', () => {
  it('fail on each forbidden import, naming its rule, and pass the allowed edges', () => {
    write({
      'tsconfig.json': '{}',
      'lib/ip/cidr.ts': 'export const cidr = 1;\n',
      'lib/cni/testing/fake.ts': 'export const fake = 1;\n',
      'plugins/bridge/plugin.ts': "import { cidr } from '../../lib/ip/cidr.ts';\nexport const bridge = cidr;\n",
      'plugins/bridge/veth.ts': 'export const veth = 1;\n',
      'cli/main.ts': "import { bridge } from '../plugins/bridge/plugin.ts';\nexport const main = bridge;\n",
      'daemon/xds/server.ts': "import { veth } from '../../plugins/bridge/veth.ts';\nexport const server = veth;\n",
      'daemon/api/server.ts': "import { main } from '../../cli/main.ts';\nexport const api = main;\n",
      'lib/cni/skel.ts': "import { server } from '../../daemon/xds/server.ts';\nexport const skel = server;\n",
      'lib/nat/masquerade.ts': "import { fake } from '../cni/testing/fake.ts';\nexport const masquerade = fake;\n",
      'plugins/overlay/lease.ts': "import { veth } from '../bridge/veth.ts';\nimport { api } from '../../daemon/api/server.ts';\nexport const lease = veth + api;\n",
      // Allowed: a plugin runs another's definition in-process; the daemon's plugin host imports the plugins'.
      'plugins/overlay/plugin.ts': "import { bridge } from '../bridge/plugin.ts';\nexport const overlay = bridge;\n",
      'daemon/plugin-host/host.ts': "import { overlay } from '../../plugins/overlay/plugin.ts';\nexport const host = overlay;\n",
      'lib/cni/skel.test.ts': "import { fake } from './testing/fake.ts';\nexport const t = fake;\n",
    });
    const run = spawnSync(join(repoRoot, 'node_modules/.bin/depcruise'),
      ['--config', join(repoRoot, '.dependency-cruiser.cjs'), '--output-type', 'err', 'lib', 'plugins', 'daemon', 'cli'],
      { cwd: tree, encoding: 'utf8' });
    const violations = run.stdout.split('\n').filter((line) => line.includes('→')).map((line) => line.trim()).sort();
    expect(violations).toEqual([
      'error cli-product-imports-no-plugin: cli/main.ts → plugins/bridge/plugin.ts',
      'error daemon-imports-lib: daemon/api/server.ts → cli/main.ts',
      'error daemon-imports-lib: daemon/xds/server.ts → plugins/bridge/veth.ts',
      'error lib-imports-nothing-above: lib/cni/skel.ts → daemon/xds/server.ts',
      'error plugins-import-lib: plugins/overlay/lease.ts → daemon/api/server.ts',
      'error plugins-stay-apart: plugins/overlay/lease.ts → plugins/bridge/veth.ts',
      'error product-imports-no-test-code: lib/nat/masquerade.ts → lib/cni/testing/fake.ts',
    ]);
    expect(run.status).not.toBe(0);
  });
});
