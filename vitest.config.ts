import { defineConfig } from 'vitest/config';

// Three projects: fast unit tests of pure logic beside the modules, kernel tests in test/netns that
// need root and the built executables in dist/, and the plugins' suites once more through weftd.

/** The suites that run weft's plugin executables, covering each plugin's behaviour. */
const pluginSuites = [
  'test/netns/bridge-*.test.ts',
  'test/netns/overlay-plugin*.test.ts',
  'plugins/host-local-ipam/host-local.test.ts',
  'plugins/host-local-ipam/concurrency.test.ts',
  'plugins/host-local-ipam/reference-compat.test.ts',
];

export default defineConfig({
  test: {
    reporters: ['default', './test/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['lib/**/*.test.ts', 'plugins/**/*.test.ts', 'daemon/**/*.test.ts', 'cli/**/*.test.ts', 'test/*.test.ts'],
          pool: 'threads',
          // Some unit tests start plugin processes (10 in one chain test): under load 5 s ran out.
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'netns',
          include: ['test/netns/**/*.test.ts'],
          // Native setns moves one OS thread; separate processes keep every test file's threads apart.
          pool: 'forks',
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        // The plugins' suites again, every call served by a weftd in the test's host (the launcher's
        // other path; test/netns/testing/plugin-host.ts).
        test: {
          name: 'plugins-via-weftd',
          include: [...pluginSuites],
          env: { WEFT_TEST_PLUGINS: 'weftd' },
          globalSetup: ['test/netns/testing/plugins-via-weftd.setup.ts'],
          pool: 'forks',
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
