// Test fixtures: an overlay config parsed as the skeleton parses it, and a lease as weftd writes it.
import { ConfigValue } from '../../../lib/json/config-value.ts';
import { netConfFromObject } from '../../../lib/cni/config.ts';
import type { JsonObject } from '../../../lib/json/json-value.ts';
import { parseSubnetEnv, type SubnetEnv } from '../../../lib/weftd-api/subnet-env.ts';
import { parseOverlayConf, type OverlayConf } from '../config.ts';

export function overlayConf(extra: JsonObject = {}): OverlayConf {
  const raw: JsonObject = { cniVersion: '1.0.0', name: 'weft', type: 'overlay', ...extra };
  return parseOverlayConf(netConfFromObject(raw), new ConfigValue(raw));
}

export function lease(text = 'WEFT_NETWORK=10.244.0.0/16\nWEFT_SUBNET=10.244.3.1/24\nWEFT_MTU=1450\nWEFT_IPMASQ=true\n'): SubnetEnv {
  return parseSubnetEnv(text);
}
