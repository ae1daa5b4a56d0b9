// weftd: the node daemon. Flags override the JSON file given by --config (see config.ts); logs are JSON
// lines on stderr. SIGTERM, SIGINT or SIGHUP (its terminal gone) stop it cleanly: renewals end, the lease
// stays in the store until its TTL (a restart takes it back), and the kernel state stays in place. Exit
// codes: 0 after a clean stop, 1 when it could not start or stop, 2 for bad flags.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { CniError } from '../lib/cni/errors.ts';
import { oneValueFlagProblem, type ParserOptions } from '../lib/flags.ts';
import { apiAttachment } from './api/attachment.ts';
import {
  mergeFlags, parseDaemonOptions, readConfigFile, storeFlagConflict, type DaemonFlags, type DaemonOptions,
} from './config.ts';
import { dataPathAttachment } from './datapath/attach.ts';
import { Daemon, type Attach } from './daemon.ts';
import { dnsAttachment } from './dns/attachment.ts';
import { NodeHealth, nodeHealthAttachment } from './health/node-health.ts';
import { Logger, logLevels } from './log.ts';
import { EndpointSet } from './xds/endpoint-set.ts';
import { SharedEndpoints, sharedEndpointsAttachment } from './xds/shared-endpoints.ts';

const stopTimeoutMs = 20_000;

/**
 * What runs once the lease is held: the node health view (leases and probe verdicts), the VXLAN data
 * path and its probes, the local API the overlay plugin registers endpoints with, the sharing of those
 * endpoints through the store, the DNS server answering for them (unless turned off), and (when
 * configured) the xDS server serving the endpoints of every node. xDS and DNS follow one health view.
 */
async function attachmentsFor(options: DaemonOptions): Promise<Attach[]> {
  const endpoints = new EndpointSet();
  const shared = new SharedEndpoints(options.nodeName, endpoints);
  const health = new NodeHealth(options.nodeName);
  const attachments: Attach[] = [
    nodeHealthAttachment(health),
    dataPathAttachment(options.intervals, (verdicts) => health.probed(verdicts)),
    apiAttachment({ socketPath: options.api.socket, overlayDataDir: options.api.overlayDataDir, endpoints }),
    sharedEndpointsAttachment(shared, health),
  ];
  if (options.dns) attachments.push(dnsAttachment({ endpoints: shared, health, resolvConf: options.dns.resolvConf }));
  if (options.xds) {
    // Loaded only when used: grpc-js and protobufjs are heavy.
    const { xdsAttachment } = await import('./xds/attachment.ts');
    attachments.push(xdsAttachment({ address: options.xds.listen, endpointSource: shared }));
  }
  return attachments;
}

const flagOptions = {
  config: { type: 'string', describe: 'JSON config file (flags override its fields)' },
  'node-name': { type: 'string', describe: 'this node\'s name in the store (default: the host name)' },
  'state-dir': { type: 'string', describe: 'directory kept across reboots: VTEP MAC, embedded store (default /var/lib/weft)' },
  'subnet-file': { type: 'string', describe: 'state file for the overlay CNI plugin (default /run/weft/subnet.env)' },
  store: { type: 'string', choices: ['embedded', 'etcd'], describe: 'lease store (default embedded)' },
  'store-path': { type: 'string', describe: 'embedded store file (default <state-dir>/leases.json)' },
  'etcd-endpoints': { type: 'string', describe: 'comma-separated etcd client URLs' },
  'etcd-prefix': { type: 'string', describe: 'etcd key prefix (default /weft/network)' },
  iface: { type: 'string', describe: 'underlay interface by name' },
  'iface-regex': { type: 'string', describe: 'underlay interface by regular expression (exactly one may match)' },
  'iface-reach': { type: 'string', describe: 'underlay interface: the one that reaches this address' },
  'public-ip': { type: 'string', describe: 'address peers send VXLAN to (default: the underlay interface\'s)' },
  listen: { type: 'string', describe: '/healthz, /readyz and /metrics address (default 127.0.0.1:9475)' },
  'api-socket': { type: 'string', describe: 'local API socket for the overlay plugin (default /run/weft/weftd.sock)' },
  'xds-listen': { type: 'string', describe: 'xDS (ADS) server address, HOST:PORT or unix:/path (default: no xDS server)' },
  'log-level': { type: 'string', choices: [...logLevels], describe: 'least severe level logged (default info)' },
} as const;

/** A malformed command line: one log line naming the flags, exit status 2. */
function badCommandLine(message: string): never {
  new Logger('info').error('bad command line', { error: message });
  process.exit(2);
}

async function main(): Promise<number> {
  const argv = await yargs(hideBin(process.argv))
    .scriptName('weftd')
    .usage('$0 [options]\n\nThe weft node daemon: holds this node\'s subnet lease and programs the VXLAN overlay.')
    .options(flagOptions)
    // Every flag takes one value: a missing, empty or repeated one is a usage error, not a config error.
    .requiresArg(Object.keys(flagOptions))
    .check((args, options) => oneValueFlagProblem(args, options as unknown as ParserOptions) ?? true)
    .conflicts('iface', ['iface-regex', 'iface-reach'])
    .conflicts('iface-regex', 'iface-reach')
    .strict()
    .version(false)
    .help()
    .fail((message) => badCommandLine(message))
    .parseAsync();

  const file = argv.config === undefined ? {} : await readConfigFile(argv.config);
  const flags: DaemonFlags = {
    nodeName: argv['node-name'], stateDir: argv['state-dir'], subnetFile: argv['subnet-file'], store: argv.store,
    storePath: argv['store-path'], etcdEndpoints: argv['etcd-endpoints'], etcdPrefix: argv['etcd-prefix'],
    iface: argv.iface, ifaceRegex: argv['iface-regex'], ifaceReach: argv['iface-reach'], publicIp: argv['public-ip'],
    listen: argv.listen, logLevel: argv['log-level'], apiSocket: argv['api-socket'], xdsListen: argv['xds-listen'],
  };
  const conflict = storeFlagConflict(file, flags);
  if (conflict !== undefined) badCommandLine(conflict);
  const options = parseDaemonOptions(mergeFlags(file, flags));
  const log = new Logger(options.logLevel, undefined, { node: options.nodeName });
  const daemon = new Daemon(options, log, await attachmentsFor(options));

  let stopping: Promise<void> | undefined;
  let stopped!: () => void;
  const done = new Promise<void>((resolve) => {
    stopped = resolve;
  });
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn('second signal: exiting without a clean stop', { signal });
      process.exit(1);
    }
    log.info('stopping', { signal });
    setTimeout(() => {
      log.error('clean stop took too long; exiting', { timeoutMs: stopTimeoutMs });
      process.exit(1);
    }, stopTimeoutMs).unref();
    stopping = daemon.stop().then(stopped);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  process.on('SIGHUP', shutdown);

  await daemon.start();
  await done;
  log.info('stopped: the lease stays in the store until its TTL; the kernel state is left in place');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const fields = err instanceof CniError ? { code: err.code, error: err.message } : { error: err instanceof Error ? err.stack ?? err.message : String(err) };
    new Logger('info').error('weftd failed', fields);
    process.exit(1);
  },
);
