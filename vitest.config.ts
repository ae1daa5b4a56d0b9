import { defineConfig } from 'vitest/config';

// Two projects: fast unit tests of pure logic beside the modules, and kernel tests in
// test/netns that need root and the built executables in dist/.
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
    ],
  },
});
