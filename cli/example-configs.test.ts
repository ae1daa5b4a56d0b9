// The network configs shipped in conf/net.d/ must load as the CLI loads them and pass each plugin's own
// validation, so `weft install` never puts a broken example into a runtime's config directory.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigValue } from '../lib/json/config-value.ts';
import { netConfFromObject } from '../lib/cni/config.ts';
import type { JsonObject } from '../lib/json/json-value.ts';
import { parseBridgeConf } from '../plugins/bridge/config.ts';
import { parseOverlayConf } from '../plugins/overlay/config.ts';
import { loadNetwork } from './netconf-loader.ts';
import { EXAMPLE_CONFIG_EXTENSION } from './suite.ts';

const confDir = new URL('../conf/net.d/', import.meta.url).pathname;
const parsers = { bridge: parseBridgeConf, overlay: parseOverlayConf };

describe('conf/net.d/ examples', () => {
  const files = readdirSync(confDir).filter((name) => name.endsWith(EXAMPLE_CONFIG_EXTENSION));

  it('ships a bridge and an overlay network', () => {
    expect(files).toEqual(['10-weft-bridge.conflist', '20-weft-overlay.conflist']);
  });

  it.each([['weft-bridge'], ['weft-overlay']])('%s loads and every plugin accepts its config', (network) => {
    const { list } = loadNetwork(confDir, network);
    for (const plugin of list.plugins) {
      const raw: JsonObject = { ...plugin, name: list.name, cniVersion: list.cniVersion };
      const parse = parsers[plugin.type as keyof typeof parsers];
      expect(parse, `a parser for ${String(plugin.type)}`).toBeDefined();
      expect(() => parse(netConfFromObject(raw), new ConfigValue(raw))).not.toThrow();
    }
  });
});
