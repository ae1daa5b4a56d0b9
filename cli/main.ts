// The weft CLI: runs network configurations against network namespaces the way cnitool does (same
// commands, environment and container IDs, libcni's config loading and result cache), and installs the
// suite. This file only parses the command line; the work is in the modules it calls.
//
//   weft add|check|del <network> <netns>     NETCONFPATH, CNI_PATH, CNI_IFNAME, CNI_ARGS, CAP_ARGS
//   weft gc <network> [netns] [--keep NETNS]...
//   weft status <network> [netns]
//   weft node-status [--url URL] [--json]     weftd's lease, peers and probe verdicts on this node
//   weft install [--bin-dir DIR] [--conf-dir DIR] [--cni-version V] [--default NETWORK] [--subnet CIDR]... [--force]
//   weft version [--json]
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import packageJson from '../package.json' with { type: 'json' };
import { oneValueFlagProblem, type ParserOptions } from '../lib/flags.ts';
import { defaultListen } from '../lib/weftd-api/node-status.ts';
import { toCniError } from '../lib/cni/errors.ts';
import { resultToJson } from '../lib/cni/result.ts';
import { splitCniPath } from '../lib/cni/skel.ts';
import { CURRENT_VERSION, versionsFrom } from '../lib/cni/version.ts';
import { addNetworkList, checkNetworkList, delNetworkList, gcNetworkList, statusNetworkList, type ChainOptions } from './chain.ts';
import { loadNetwork, type LoadedNetwork } from './netconf-loader.ts';
import { DEFAULT_CACHE_DIR, ResultCache } from './result-cache.ts';
import { DEFAULT_NETCONF_PATH, containerIdForNetns, interfaceName, runtimeConfFromEnv, type RuntimeConf } from './runtime-conf.ts';
import { DEFAULT_BIN_DIR, DEFAULT_CONF_DIR } from './suite.ts';
import { formatVersionReport, versionReport } from './version-report.ts';

/** dist/bin in a build: the plugin bundles sit beside the weft bundle. */
const ownDir = dirname(fileURLToPath(import.meta.url));
const env = process.env;

interface AttachmentArgs {
  network: string;
  netns: string;
  ifname?: string | undefined;
  cacheDir: string;
}

function chainOptions(cacheDir: string): ChainOptions {
  return { cniPath: splitCniPath(env.CNI_PATH), cache: new ResultCache(cacheDir), env };
}

function load(network: string): LoadedNetwork {
  return loadNetwork(env.NETCONFPATH || DEFAULT_NETCONF_PATH, network);
}

type AttachmentVerb<T> = (network: LoadedNetwork, rt: RuntimeConf, options: ChainOptions) => Promise<T>;

/** Loads the network and the attachment parameters, then runs `verb`. */
function runAttachment<T>(verb: AttachmentVerb<T>, args: AttachmentArgs): Promise<T> {
  return verb(load(args.network), runtimeConfFromEnv(env, args.netns, args.ifname), chainOptions(args.cacheDir));
}

const COMMANDS = ['add', 'check', 'del', 'gc', 'status', 'node-status', 'install', 'version'];

/** "weft" and the command the command line names, as messages begin. */
function commandName(argv: readonly string[]): string {
  const command = argv.find((word) => COMMANDS.includes(word));
  return `weft${command ? ` ${command}` : ''}`;
}

/** Prints a failure as the spec's error JSON on stdout and a line on stderr; exit status 1. */
function reportFailure(argv: readonly string[], err: unknown): void {
  const error = toCniError(err);
  process.stdout.write(`${JSON.stringify(error.toJson(CURRENT_VERSION), null, 4)}\n`);
  process.stderr.write(`${commandName(argv)}: ${error.message}\n`);
  process.exitCode = 1;
}

/** A malformed command line: one line on stderr naming what is wrong, exit status 2. */
function usageError(argv: readonly string[], message: string): never {
  process.stderr.write(`${commandName(argv)}: ${message} (see ${commandName(argv)} --help)\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const argv = hideBin(process.argv);
  try {
    await parseAndRun(argv);
  } catch (err) {
    // A synchronous handler throws out of parseAsync instead of rejecting its promise.
    reportFailure(argv, err);
  }
}

function parseAndRun(argv: string[]): Promise<unknown> {
  return yargs(argv)
    .scriptName('weft')
    .usage('$0 <command>\n\nRuns CNI network configurations against network namespaces, as cnitool does.')
    .epilogue(
      'Environment: NETCONFPATH (config directory, default /etc/cni/net.d), CNI_PATH (plugin directories), ' +
        'CNI_IFNAME (default eth0), CNI_ARGS (K=V;...), CAP_ARGS (capability arguments as JSON), ' +
        'WEFT_CACHE_DIR (result cache, default /var/lib/cni).',
    )
    .option('ifname', { alias: 'i', type: 'string', requiresArg: true, describe: 'interface name (default: CNI_IFNAME, else eth0)' })
    .option('cache-dir', { type: 'string', requiresArg: true, default: env.WEFT_CACHE_DIR || DEFAULT_CACHE_DIR, describe: 'result cache directory (results/ below it)' })
    .command(
      'add <network> <netns>',
      'add the network to the namespace and print the result',
      (y) => y.positional('network', { type: 'string', demandOption: true }).positional('netns', { type: 'string', demandOption: true }),
      async (args) => {
        process.stdout.write(resultToJson(await runAttachment(addNetworkList, args)));
      },
    )
    .command(
      'check <network> <netns>',
      'check the namespace\'s attachment to the network',
      (y) => y.positional('network', { type: 'string', demandOption: true }).positional('netns', { type: 'string', demandOption: true }),
      (args) => runAttachment(checkNetworkList, args),
    )
    .command(
      'del <network> <netns>',
      'remove the namespace\'s attachment to the network',
      (y) => y.positional('network', { type: 'string', demandOption: true }).positional('netns', { type: 'string', demandOption: true }),
      (args) => runAttachment(delNetworkList, args),
    )
    .command(
      'gc <network> [netns]',
      'delete the network\'s cached attachments except those kept, then garbage-collect every plugin ' +
        '(netns is accepted for cnitool compatibility and not kept: name it with --keep)',
      (y) =>
        y
          .positional('network', { type: 'string', demandOption: true })
          .positional('netns', { type: 'string' })
          .option('keep', { type: 'string', array: true, default: [], describe: 'netns whose attachment (with --ifname) stays valid' }),
      async (args) => {
        const network = load(args.network);
        const ifName = interfaceName(env, args.ifname);
        const valid = args.keep.map((netns) => ({ containerID: containerIdForNetns(netns), ifname: ifName }));
        await gcNetworkList(network, valid, chainOptions(args.cacheDir));
      },
    )
    .command(
      'status <network> [netns]',
      'ask every plugin of the network whether it can take new attachments',
      (y) => y.positional('network', { type: 'string', demandOption: true }).positional('netns', { type: 'string' }),
      async (args) => {
        const network = load(args.network);
        if (!(await statusNetworkList(network, chainOptions(args.cacheDir)))) {
          process.stderr.write(`weft status: network "${network.list.name}" is cniVersion "${network.list.cniVersion}"; STATUS needs 1.1.0, nothing asked\n`);
        }
      },
    )
    .command(
      'node-status',
      'print what weftd on this node reports: its lease, the last reconcile, and each peer\'s probe verdict per path',
      (y) =>
        y
          .option('url', { type: 'string', requiresArg: true, default: `http://${defaultListen}`, describe: 'weftd\'s operability address (its "listen")' })
          .option('json', { type: 'boolean', default: false, describe: 'print the daemon\'s JSON' }),
      async (args) => {
        // Loaded only for this command: the others never talk to weftd.
        const { fetchNodeStatus, formatNodeStatus } = await import('./node-status.ts');
        const status = await fetchNodeStatus(args.url);
        process.stdout.write(args.json ? `${JSON.stringify(status, null, 4)}\n` : formatNodeStatus(status, Date.now()));
      },
    )
    .command(
      'install',
      'copy the plugins into a CNI bin directory and write the shipped network configs into a config directory, ' +
        'after the machine\'s default network unless --default says otherwise',
      (y) =>
        y
          .option('bin-dir', { type: 'string', requiresArg: true, default: DEFAULT_BIN_DIR, describe: 'CNI plugin directory' })
          .option('conf-dir', { type: 'string', requiresArg: true, default: DEFAULT_CONF_DIR, describe: 'network configuration directory' })
          .option('cni-version', {
            type: 'string', requiresArg: true, default: '1.0.0', choices: versionsFrom('0.3.0'),
            describe: 'cniVersion of the configs: 1.0.0 for containerd 1.6/1.7, CRI-O, Podman 4; 1.1.0 (GC, STATUS) needs libcni 1.2 (containerd 2.x)',
          })
          .option('default', { type: 'string', requiresArg: true, describe: 'make this shipped network the default (its file sorts first)' })
          .option('subnet', { type: 'string', array: true, describe: 'subnet of the bridge network instead of the shipped ones (repeat for IPv4 and IPv6)' })
          .option('force', { type: 'boolean', default: false, describe: 'replace configurations that define a shipped network' }),
      async (args) => {
        // Loaded only for this command: it reads the host's routes over netlink.
        const { formatInstallReport, hostRoutes, installSuite } = await import('./install.ts');
        const confDir = resolve(args.confDir);
        const report = installSuite({
          sourceBinDir: ownDir,
          sourceConfDir: join(ownDir, '../../conf/net.d'),
          // A runtime reads these paths as absolute ones; the report shows where the files went.
          binDir: resolve(args.binDir),
          confDir,
          cniVersion: args.cniVersion,
          ...(args.default !== undefined && { defaultNetwork: args.default }),
          ...(args.subnet !== undefined && { subnets: args.subnet }),
          force: args.force,
          routes: hostRoutes((reason) => process.stderr.write(`weft install: subnets not checked against the host's routes: ${reason}\n`)),
          interpreter: process.execPath,
        });
        process.stdout.write(formatInstallReport(report, confDir));
        for (const name of report.missing) process.stderr.write(`weft install: plugin ${name} not built, skipped\n`);
      },
    )
    .command(
      'version',
      'print weft\'s version, the CNI versions it speaks and the plugins it finds',
      (y) => y.option('json', { type: 'boolean', default: false, describe: 'print JSON' }),
      async (args) => {
        const report = await versionReport(packageJson.version, [ownDir, ...splitCniPath(env.CNI_PATH)], env);
        process.stdout.write(args.json ? `${JSON.stringify(report, null, 4)}\n` : formatVersionReport(report));
      },
    )
    .demandCommand(1, 'name a command')
    .strict()
    .version(false)
    .help()
    .alias('help', 'h')
    // One-value flags (requiresArg) given twice or empty are usage errors too.
    .check((args, options) => oneValueFlagProblem(args, options as unknown as ParserOptions) ?? true)
    .fail((message, err) => {
      // yargs' own errors are YErrors and a check's are strings; anything else is a command failing, which
      // also rejects parseAsync's promise and is reported there.
      if (err instanceof Error && err.name !== 'YError') throw err;
      usageError(argv, message);
    })
    .parseAsync();
}

void main();
