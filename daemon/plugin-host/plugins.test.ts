import { expect, it } from 'vitest';
import { hostedPluginNames } from './call.ts';
import { hostedPlugins } from './plugins.ts';

it('hosts the plugins the server admits, under the names of their executables', () => {
  expect(Object.keys(hostedPlugins).sort()).toEqual([...hostedPluginNames].sort());
});
