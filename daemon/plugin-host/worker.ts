// A plugin host worker thread: runs calls through the skeleton's core (lib/cni/skel.ts runPluginCore),
// exactly the code path of the plugin executable, against the call's environment and stdin. One call at a
// time: a verb blocks its thread in synchronous netlink requests and in the IPAM store's flock, and a
// second call waiting on that lock in the same thread would never let the first release it.
import { parentPort } from 'node:worker_threads';
import { isOwnNetns, runPluginCore } from '../../lib/cni/skel.ts';
import type { HostedCall, HostedOutput } from './call.ts';
import { hostedPlugins } from './plugins.ts';

async function run(call: HostedCall): Promise<HostedOutput> {
  const plugin = hostedPlugins[call.plugin];
  if (!plugin) return { stdout: '', stderr: `weftd: no plugin ${JSON.stringify(call.plugin)}\n`, exitCode: 1 };
  return runPluginCore(plugin, { env: call.env, stdin: call.stdin, isOwnNetns });
}

parentPort!.on('message', (call: HostedCall) => {
  void run(call).then((output) => parentPort!.postMessage(output));
});
