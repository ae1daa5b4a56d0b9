// The allowed imports (README "Layout"), checked by `npm test` (depcruise): imports go down only.
//   lib/      imports nothing above it
//   plugins/  import lib/, and another plugin's definition (plugin.ts, config.ts) only to run it in-process
//   daemon/   imports lib/; only its plugin host (daemon/plugin-host/) may import the plugins' definitions
//   cli/      imports lib/
//   testing/  folders hold code only tests use: product code never imports them
// test/, bench/ and demo/ may import anything; nothing imports them.
// Test code: tests, testing/ folders, and the folders that only tests, benchmarks and demos use.
const tests = String.raw`(\.test\.ts$|/testing/|^test/|^bench/|^demo/)`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'lib-imports-nothing-above',
      comment: 'lib/ is what plugins, daemon and cli share: it imports nothing from them.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: '^(plugins|daemon|cli|test|bench|demo)/' },
    },
    {
      name: 'plugins-import-lib',
      comment: 'A plugin imports lib/ (and its own folder), not the daemon, the cli or tests.',
      severity: 'error',
      from: { path: '^plugins/' },
      to: { path: '^(daemon|cli|test|bench|demo)/' },
    },
    {
      name: 'plugins-stay-apart',
      comment: 'A plugin imports another only to run it in-process (its definition: plugin.ts, config.ts); what two plugins share lives in lib/.',
      severity: 'error',
      from: { path: '^plugins/([^/]+)/' },
      to: { path: '^plugins/', pathNot: ['^plugins/$1/', '^plugins/[^/]+/(plugin|config)[.]ts$'] },
    },
    {
      name: 'daemon-imports-lib',
      comment: 'weftd imports lib/, not the cli, the plugins or tests; its plugin host (daemon/plugin-host/) may import the plugins\' definitions.',
      severity: 'error',
      from: { path: '^daemon/', pathNot: '^daemon/plugin-host/' },
      to: { path: '^(plugins|cli|test|bench|demo)/' },
    },
    {
      name: 'daemon-plugin-host-imports-definitions',
      comment: 'The plugin host may import the plugins\' definitions, not the cli or tests.',
      severity: 'error',
      from: { path: '^daemon/plugin-host/' },
      to: { path: '^(cli|test|bench|demo)/' },
    },
    {
      name: 'cli-imports-lib',
      comment: 'weft (cli/) imports lib/, not weftd or the plugins; a test may check example configs with a plugin\'s parser.',
      severity: 'error',
      from: { path: '^cli/' },
      to: { path: '^(daemon|test|bench|demo)/' },
    },
    {
      name: 'cli-product-imports-no-plugin',
      comment: 'weft (cli/) runs plugins as executables; only its tests may import a plugin\'s config parser.',
      severity: 'error',
      from: { path: '^cli/', pathNot: tests },
      to: { path: '^plugins/' },
    },
    {
      name: 'product-imports-no-test-code',
      comment: 'Code only tests use lives in testing/ folders (and test/netns): product code never imports it.',
      severity: 'error',
      from: { path: '^(lib|plugins|daemon|cli)/', pathNot: tests },
      to: { path: `${tests}` },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve is a typo or a missing package.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist|build)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      extensions: ['.ts', '.mjs', '.js', '.json', '.node'],
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
