// vitest globalSetup of the plugins-via-weftd project: one namespace where a weftd serves plugin calls, for
// the suites that run plugin executables from the test process itself (host-local's,
// plugins/host-local-ipam/testing/plugin-exec.ts): they find it in WEFT_TEST_PLUGINS_NETNS. Hosts made by
// the kernel suites get a weftd of their own (testing/bridge.ts, the overlay tests' daemons).
import { cleanupAll } from './cleanup.ts';
import { createTempDir } from './files.ts';
import { createNetns } from './netns.ts';
import { startPluginHost } from './plugin-host.ts';

export default function setup(): () => void {
  const netns = createNetns('pw');
  startPluginHost(netns, createTempDir('plugins-weftd'));
  process.env.WEFT_TEST_PLUGINS_NETNS = netns.name;
  return () => {
    const failures = cleanupAll();
    if (failures.length > 0) throw new Error(`cleanup failed:\n${failures.join('\n')}`);
  };
}
