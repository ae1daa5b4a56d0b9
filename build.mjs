#!/usr/bin/env node
// Builds the native netlink/namespace addon and bundles every executable into one file under dist/bin.
//   node build.mjs          addon + bundles + plugin launchers
//   node build.mjs native   addon only (npm runs this on install)
//
// dist/bin/<plugin> is the plugin's native launcher (lib/resident/native/launcher.c): it hands the call to
// weftd when weftd serves it, or runs the Node plugin, dist/bin/weft-plugins/<plugin>. Launchers, Node
// plugins and weftd's plugin host share a build identity: the hash of the plugins' code.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { etcd3Protos } from './build-plugins/etcd3-protos.mjs';

const root = dirname(fileURLToPath(import.meta.url));
const addonSource = join(root, 'lib/netlink/native/weft_netlink.c');
const addonOut = join(root, 'build/weft_netlink.node');
const launcherSource = join(root, 'lib/resident/native/launcher.c');
const fallbackDirectory = 'weft-plugins'; // lib/resident/protocol.ts fallbackDirectory

// Executables: name in dist/bin -> entry module. Plugins carry only what their verbs need.
// CNI plugins run once per container, so their code is wrapped in lib/cni/plugin-launcher.ts (a compile cache).
const plugins = new Set(['host-local', 'bridge', 'overlay']);
export const executables = {
  'host-local': 'plugins/host-local-ipam/main.ts',
  bridge: 'plugins/bridge/main.ts',
  overlay: 'plugins/overlay/main.ts',
  weft: 'cli/main.ts',
  weftd: 'daemon/main.ts',
};

function nodeIncludeDir() {
  const candidates = [join(dirname(process.execPath), '../include/node'), '/usr/include/node', '/usr/local/include/node'];
  const found = candidates.find((dir) => existsSync(join(dir, 'node_api.h')));
  if (!found) throw new Error(`node_api.h not found in ${candidates.join(', ')}: install Node's headers`);
  return found;
}

function buildAddon() {
  if (existsSync(addonOut) && statSync(addonOut).mtimeMs >= statSync(addonSource).mtimeMs) return;
  mkdirSync(dirname(addonOut), { recursive: true });
  // The N-API C interface needs no node-gyp: one translation unit, the system compiler.
  execFileSync(
    process.env.CC ?? 'cc',
    ['-O2', '-Wall', '-Wextra', '-Werror', '-fPIC', '-shared', '-fvisibility=hidden',
      `-I${nodeIncludeDir()}`, '-o', addonOut, addonSource],
    { stdio: 'inherit' },
  );
}

/** The xDS protobuf types weftd serves, as protobufjs JSON, so the bundle needs no .proto files. */
async function xdsDescriptorJson(build) {
  const out = join(root, 'build/xds-descriptor.mjs');
  await build({
    entryPoints: [join(root, 'daemon/xds/proto-descriptor.ts')], outfile: out, bundle: true,
    platform: 'node', format: 'esm', packages: 'external', logLevel: 'warning',
  });
  return JSON.stringify((await import(pathToFileURL(out).href)).xdsDescriptor());
}

async function buildBundles() {
  const { build } = await import('esbuild');
  const xdsDescriptor = await xdsDescriptorJson(build);
  const addon = readFileSync(addonOut).toString('base64');
  mkdirSync(join(root, 'dist/bin'), { recursive: true });
  // The repository is "type": "module"; without this, Node would load the extensionless bundles as ESM.
  writeFileSync(join(root, 'dist/package.json'), '{ "type": "commonjs" }\n');
  const common = {
    bundle: true,
    platform: 'node',
    target: 'node20',
    // CommonJS: an extensionless file in /opt/cni/bin is loaded as CommonJS by Node 20.
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
  };
  // Line 2 marks the file as weft's own, so the bridge can run weft's host-local in-process.
  const head = (name) => `#!/usr/bin/env node\n// weft-plugin ${name}\n`;
  const importMeta = 'const __import_meta_url=require("url").pathToFileURL(__filename).href;';
  const codeOf = (name, entry) => ({
    ...common,
    entryPoints: [join(root, entry)],
    define: {
      'import.meta.url': '__import_meta_url',
      // The addon travels inside the bundle so a plugin stays one copyable file.
      __WEFT_ADDON_BASE64__: JSON.stringify(addon),
      ...(name === 'weftd' ? { __WEFT_XDS_DESCRIPTOR__: xdsDescriptor } : {}),
    },
    // etcd3 reads its .proto files from disk when it loads; weftd carries them compiled instead.
    plugins: name === 'weftd' ? [etcd3Protos()] : [],
  });
  // Each plugin's code as lib/cni/code-cache.ts compiles it; the build identity is the hash of these, the
  // plugin host's and the launcher's.
  const pluginCode = Object.fromEntries(await Promise.all([...plugins].sort().map(async (name) => {
    const built = await build({ ...codeOf(name, executables[name]), write: false, banner: { js: importMeta } });
    return [name, `function weftModule(exports, require, module, __filename, __dirname) {${built.outputFiles[0].text}\n}\nweftModule`];
  })));
  // weftd's plugin host worker (daemon/plugin-host/worker.ts), carried by weftd as a string.
  const worker = await build({ ...codeOf('worker', 'daemon/plugin-host/worker.ts'), write: false, banner: { js: importMeta } });
  const buildId = createHash('sha256')
    .update([...Object.values(pluginCode), worker.outputFiles[0].text, readFileSync(launcherSource, 'utf8')].join('\0'))
    .digest('hex').slice(0, 32);
  mkdirSync(join(root, 'dist/bin', fallbackDirectory), { recursive: true });
  await Promise.all(Object.entries(executables).map(async ([name, entry]) => {
    const code = codeOf(name, entry);
    if (!plugins.has(name)) {
      const outfile = join(root, 'dist/bin', name);
      const define = name === 'weftd'
        ? { ...code.define, __WEFT_PLUGIN_HOST_WORKER__: JSON.stringify(worker.outputFiles[0].text), __WEFT_BUILD_ID__: JSON.stringify(buildId) }
        : code.define;
      await build({ ...code, define, outfile, banner: { js: `${head(name)}${importMeta}` } });
      chmodSync(outfile, 0o755);
      return;
    }
    // The Node plugin: the launcher of lib/cni/plugin-launcher.ts carrying the plugin's code as a string
    // with its hash (the code cache's name: the hash covers exactly what V8 compiles).
    const source = pluginCode[name];
    const outfile = join(root, 'dist/bin', fallbackDirectory, name);
    await build({
      ...common,
      entryPoints: [join(root, 'lib/cni/plugin-launcher.ts')],
      outfile,
      banner: { js: head(name) },
      define: {
        __WEFT_PLUGIN_NAME__: JSON.stringify(name),
        __WEFT_PLUGIN_CODE__: JSON.stringify(source),
        __WEFT_PLUGIN_CODE_HASH__: JSON.stringify(createHash('sha256').update(source).digest('hex').slice(0, 32)),
      },
    });
    chmodSync(outfile, 0o755);
    buildLauncher(name, buildId, join(root, 'dist/bin', name));
  }));
}

/**
 * The plugin's native launcher, ending in the marker line the Node bundles carry on line 2
 * (lib/cni/own-plugins.ts): the bridge recognises weft's host-local in CNI_PATH by it.
 */
function buildLauncher(name, buildId, outfile) {
  const compiled = join(root, `build/launcher-${name}`);
  execFileSync(
    process.env.CC ?? 'cc',
    ['-O2', '-Wall', '-Wextra', '-Werror', `-DWEFT_PLUGIN_NAME="${name}"`, `-DWEFT_BUILD_ID="${buildId}"`, '-o', compiled, launcherSource],
    { stdio: 'inherit' },
  );
  writeFileSync(outfile, Buffer.concat([readFileSync(compiled), Buffer.from(`\n// weft-plugin ${name}\n`)]), { mode: 0o755 });
  chmodSync(outfile, 0o755);
}

buildAddon();
if (process.argv[2] !== 'native') await buildBundles();
