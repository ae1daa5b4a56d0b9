// One plugin call as weftd's main thread hands it to a worker, and what comes back.
import type { PluginOutput } from '../../lib/cni/skel.ts';

export interface HostedCall {
  readonly plugin: string;
  readonly env: Readonly<Record<string, string>>;
  readonly stdin: string;
}

export type HostedOutput = PluginOutput;

/** The executable names weftd serves (daemon/plugin-host/plugins.ts holds their definitions). */
export const hostedPluginNames: readonly string[] = ['bridge', 'host-local', 'overlay'];
