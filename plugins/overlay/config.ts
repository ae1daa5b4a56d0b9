// The overlay plugin's own fields, each bad value a code-7 error naming the field:
//
//   {
//     "type": "overlay",
//     "subnetFile": "/run/weft/subnet.env",        the lease weftd wrote (lib/weftd-api/subnet-env.ts)
//     "dataDir": "/var/lib/cni/weft/overlay",      the bridge config generated per container, for DEL
//     "socket": "/run/weft/weftd.sock",            weftd's local API (endpoint registration)
//     "ipamDataDir": "/var/lib/cni/networks",      host-local's store (its default when left out)
//     "service": "echo",                           default service for the endpoints (see endpoint-request.ts)
//     "delegate": { "bridge": "weft0", "hairpinMode": true, ... }
//   }
//
// `delegate` holds bridge plugin fields laid over the generated ones, as flannel's `delegate` does; the
// fields the overlay owns (type, name, cniVersion, ipam, mtu) cannot be set there. The bridge's own parser
// checks the rest here, so an error names "delegate.bridge", not a "bridge" the user never wrote.
import { ConfigValue } from '../../lib/json/config-value.ts';
import type { NetConf } from '../../lib/cni/types.ts';
import type { JsonObject } from '../../lib/json/json-value.ts';
import { parseBridgeConf } from '../bridge/config.ts';

export const defaultSubnetFile = '/run/weft/subnet.env';
export const defaultDataDir = '/var/lib/cni/weft/overlay';
export const defaultSocket = '/run/weft/weftd.sock';
/** The generated bridge fields `delegate` may override (and ipMasq, which follows the lease: bridge-config.ts). */
export const delegateDefaults: JsonObject = { bridge: 'weft0', isGateway: true };

const ownedDelegateFields = ['type', 'name', 'cniVersion', 'ipam', 'mtu'];

export interface OverlaySettings {
  subnetFile: string;
  dataDir: string;
  socket: string;
  ipamDataDir?: string;
  service?: string;
  delegate: JsonObject;
}

export interface OverlayConf extends NetConf {
  overlay: OverlaySettings;
}

/** The skeleton's parseConfig for the overlay plugin. */
export function parseOverlayConf(base: NetConf, raw: ConfigValue): OverlayConf {
  const delegateField = raw.field('delegate');
  const delegate = delegateField.optionalObject() ?? {};
  for (const key of ownedDelegateFields) {
    if (key === 'type' && delegate.type === 'bridge') continue;
    if (Object.hasOwn(delegate, key)) throw delegateField.field(key).invalid('is set by the overlay plugin');
  }
  parseBridgeConf(base, new ConfigValue({ ...delegateDefaults, ...delegate }, 'delegate'));
  const ipamDataDir = raw.field('ipamDataDir');
  const service = raw.field('service').optionalString();
  const overlay: OverlaySettings = {
    subnetFile: raw.field('subnetFile').absoluteFilePath(defaultSubnetFile),
    dataDir: raw.field('dataDir').absoluteFilePath(defaultDataDir),
    socket: raw.field('socket').absoluteFilePath(defaultSocket),
    delegate,
    ...(ipamDataDir.present ? { ipamDataDir: ipamDataDir.absoluteFilePath('') } : {}),
    ...(service !== undefined ? { service } : {}),
  };
  return { ...base, overlay };
}
