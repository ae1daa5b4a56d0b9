// vitest globalSetup of the plugins-via-weftd project: one namespace where a weftd serves plugin calls, for
// the suites that run plugin executables from the test process itself (host-local's,
// plugins/host-local-ipam/testing/plugin-exec.ts): they find it in WEFT_TEST_PLUGINS_NETNS. Hosts made by
// the kernel suites get a weftd of their own (testing/bridge.ts, the overlay tests' daemons).
import { cleanupAll } from './cleanup.ts';
import { createTempDir } from './files.ts';
import { createNetns } from './netns.ts';
import { scrape, startPluginHost } from './plugin-host.ts';

export default function setup(): () => void {
  const netns = createNetns('pw');
  netns.ip('link', 'set', 'lo', 'up');
  startPluginHost(netns, createTempDir('plugins-weftd'));
  process.env.WEFT_TEST_PLUGINS_NETNS = netns.name;
  return () => {
    // The suites must really have gone through weftd (a call that reached no weftd would pass them too).
    const served = scrape(netns, 'weft_plugin_calls_total');
    const failures = cleanupAll();
    if (served === 0) failures.push(`weftd in ${netns.name} served no call: the suites did not run in it`);
    if (failures.length > 0) throw new Error(`cleanup failed:\n${failures.join('\n')}`);
  };
}
