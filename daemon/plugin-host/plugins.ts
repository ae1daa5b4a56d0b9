// The plugins weftd runs in-process, by executable name: the one place the daemon imports plugins/. Only
// the plugin host's worker loads this (the daemon's own start never pays for the plugins' code).
import type { PluginDefinition } from '../../lib/cni/skel.ts';
import type { NetConf } from '../../lib/cni/types.ts';
import { bridgePlugin } from '../../plugins/bridge/plugin.ts';
import { hostLocalPlugin } from '../../plugins/host-local-ipam/plugin.ts';
import { overlayPlugin } from '../../plugins/overlay/plugin.ts';

export const hostedPlugins: Readonly<Record<string, PluginDefinition<NetConf>>> = {
  bridge: bridgePlugin as PluginDefinition<NetConf>,
  'host-local': hostLocalPlugin as PluginDefinition<NetConf>,
  overlay: overlayPlugin as PluginDefinition<NetConf>,
};
