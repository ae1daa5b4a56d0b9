// weftd's options for the local API and the xDS server (parsed with the rest in daemon/config.ts).
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../lib/json/json-value.ts';
import { catchCniError } from '../../lib/cni/testing/catch-cni-error.ts';
import { mergeFlags, parseDaemonOptions } from '../config.ts';

const base = { nodeName: 'node-a' };

describe('api and xds options', () => {
  it('default to the plugin\'s socket and no xDS server', () => {
    const options = parseDaemonOptions(base);
    expect(options.api).toEqual({ socket: '/run/weft/weftd.sock', overlayDataDir: '/var/lib/cni/weft/overlay' });
    expect(options.xds).toBeUndefined();
  });

  it('take the file\'s values, with flags over them', () => {
    const file = { ...base, api: { socket: '/tmp/a.sock', overlayDataDir: '/tmp/ov' }, xds: { listen: '0.0.0.0:18000' } };
    expect(parseDaemonOptions(file)).toMatchObject({ api: { socket: '/tmp/a.sock', overlayDataDir: '/tmp/ov' }, xds: { listen: '0.0.0.0:18000' } });
    const merged = parseDaemonOptions(mergeFlags(file, { apiSocket: '/tmp/b.sock', xdsListen: 'unix:/run/weft/xds.sock' }));
    expect(merged).toMatchObject({ api: { socket: '/tmp/b.sock', overlayDataDir: '/tmp/ov' }, xds: { listen: 'unix:/run/weft/xds.sock' } });
    expect(parseDaemonOptions({ ...base, xds: { listen: '[::1]:18000' } }).xds).toEqual({ listen: '[::1]:18000' });
  });

  it('refuse bad values with code 7 naming the field', () => {
    const bads: JsonObject[] = [{ api: { socket: 'weftd.sock' } }, { api: { sock: '/x' } }, { xds: {} }, { xds: { listen: 'unix:relative' } },
      { xds: { listen: 'host-without-port' } }, { xds: { listen: '127.0.0.1:18000', extra: 1 } }];
    for (const bad of bads) {
      const err = catchCniError(() => parseDaemonOptions({ ...base, ...bad }));
      expect(err.code).toBe(7);
      expect(err.details).toMatch(/api|xds/);
    }
  });
});
