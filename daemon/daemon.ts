// weftd's lifecycle, in order: operability endpoints (so /healthz answers during a slow start), the VTEP
// MAC, the underlay, the store and its network config, the lease (retried until the store answers), the
// attachments (the data path), the subnet file, ready. Stopping undoes it in reverse, but leaves the lease
// in the store and the kernel state in place, so that a restart changes nothing for containers.
//
// Attachments are how the data path plugs in: each gets the context below once the lease is held, and
// follows the lease set with `context.leases.subscribe(...)` (see LeaseSetEvent in lease-manager.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import { CniError, ErrorCode } from '../lib/cni/errors.ts';
import { formatIp } from '../lib/ip/address.ts';
import { formatCidr, maskedNet, parseCidr } from '../lib/ip/cidr.ts';
import { backoffDelay } from './backoff.ts';
import type { DaemonOptions } from './config.ts';
import type { Lease } from './lease/lease.ts';
import { LeaseManager } from './lease/lease-manager.ts';
import { openLeaseStore } from './lease/open-store.ts';
import type { LeaseStore } from './lease/store.ts';
import type { Logger } from './log.ts';
import { networkConfigDifferences, networkConfigJson, overlayMtu, parseNetworkConfig, type NetworkConfig } from './network-config.ts';
import { registerLeaseMetrics, type DaemonErrors } from './ops/daemon-metrics.ts';
import { MetricsRegistry } from './ops/metrics.ts';
import { nodeStatus, peerPage, type StatusSources } from './ops/node-status.ts';
import { BadRequest, startOpsServer, type OpsServer, type ProbeResult } from './ops/ops-server.ts';
import { gatewayForm, readSubnetEnv, writeSubnetEnv } from '../lib/weftd-api/subnet-env.ts';
import { loadVtepMac } from './state/vtep-mac.ts';
import { chooseUnderlay, describeChoice, readUnderlayFacts, type Underlay } from './underlay.ts';
import { holdInstanceLock } from './files/instance-lock.ts';
import { leaseReadiness } from './lease/lease-readiness.ts';
import { bundledPluginHost, startPluginHost } from './plugin-host/plugin-host.ts';
import { socketDirectory } from '../lib/resident/protocol.ts';

/** Up to this many leases, a plain /metrics scrape has the series by peer; past it, only ?detail=peers. */
const perPeerMetricsUpTo = 50;

export interface DaemonContext {
  readonly log: Logger;
  readonly metrics: MetricsRegistry;
  readonly config: NetworkConfig;
  readonly underlay: Underlay;
  readonly vtepMac: string;
  /** MTU for the VXLAN device and container interfaces. */
  readonly mtu: number;
  readonly leases: LeaseManager;
  /** The lease store (also where nodes share their endpoints). */
  readonly store: LeaseStore;
  /** Where attachments publish what `GET /status` shows of them. */
  readonly status: StatusSources;
  /** Aborted when the daemon stops: an attachment still waiting to start gives up. */
  readonly signal: AbortSignal;
}

export interface Attachment {
  stop(): Promise<void>;
}

export type Attach = (context: DaemonContext) => Promise<Attachment> | Attachment;

/** Not ready, and why: the phase and its last failure. */
function retrying(phase: string, err: unknown): ProbeResult {
  return { ok: false, detail: `${phase} failed (retrying): ${err instanceof Error ? err.message : String(err)}` };
}

/** Retries `attempt` with backoff until it succeeds or `signal` aborts; config errors are not retried. */
async function persist<T>(what: string, log: Logger, signal: AbortSignal, attempt: () => Promise<T>, onError?: (err: unknown) => void): Promise<T> {
  for (let n = 0; ; n++) {
    signal.throwIfAborted();
    try {
      return await attempt();
    } catch (err) {
      if (err instanceof CniError && err.code === ErrorCode.InvalidNetworkConfig) throw err;
      signal.throwIfAborted();
      onError?.(err);
      const delay = backoffDelay({ initialMs: 500, maxMs: 15_000 }, n);
      log.error(`${what} failed; retrying`, { error: err, retryInMs: delay });
      await sleep(delay, undefined, { signal });
    }
  }
}

/** The network config: the local one stored unless the store has one; they must agree. */
async function agreeOnConfig(store: LeaseStore, local: NetworkConfig | undefined): Promise<NetworkConfig> {
  const stored = await store.networkConfig(local ? networkConfigJson(local) : undefined);
  if (!stored) throw new CniError(ErrorCode.InvalidNetworkConfig, 'no network config', 'give one as "network" in the weftd config, or store one in the store');
  const config = parseNetworkConfig(stored, 'store config');
  const differences = local ? networkConfigDifferences(local, config) : [];
  if (differences.length > 0) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, 'the network config differs from the one in the store', differences.join('; '));
  }
  return config;
}

/** What this node brings to start-up, before the store is involved. */
interface LocalNode {
  readonly local: NetworkConfig | undefined;
  readonly vtepMac: string;
  readonly underlay: Underlay;
}

export class Daemon {
  private readonly abort = new AbortController();
  private readiness: ProbeResult = { ok: false, detail: 'starting' };
  private readonly errors: DaemonErrors = { acquire: 0, subnetFile: 0 };
  private readonly cleanups: Array<() => Promise<void>> = [];
  private starting: Promise<unknown> | undefined;
  private manager: LeaseManager | undefined;
  private readonly statusSources: StatusSources = {};
  readonly metrics = new MetricsRegistry();
  ops: OpsServer | undefined;
  context: DaemonContext | undefined;

  constructor(
    private readonly options: DaemonOptions,
    private readonly log: Logger,
    private readonly attachments: readonly Attach[] = [],
  ) {}

  /** Starts everything; resolves once ready, or undefined when stopped before that (or with no overlay to run). */
  async start(): Promise<DaemonContext | undefined> {
    const running = this.run();
    this.starting = running;
    try {
      return await running;
    } catch (err) {
      if (this.abort.signal.aborted) return undefined;
      this.abort.abort();
      await this.cleanup();
      throw err;
    }
  }

  /** Stops everything, also a start in progress; the lease stays in the store until its TTL. */
  async stop(): Promise<void> {
    if (this.abort.signal.aborted) return;
    this.abort.abort();
    this.readiness = { ok: false, detail: 'stopping' };
    await this.starting?.catch(() => undefined);
    await this.cleanup();
  }

  /** Start-up's phase until it is done; from then on, what the lease held now allows. */
  private currentReadiness(): ProbeResult {
    if (!this.options.overlay) return this.readiness;
    return this.readiness.ok ? leaseReadiness(this.manager?.lease, Date.now()) : this.readiness;
  }

  private async cleanup(): Promise<void> {
    for (const undo of this.cleanups.splice(0).reverse()) {
      await undo().catch((err: unknown) => this.log.error('stopping a component failed', { error: err }));
    }
  }

  /** The plugin host, when configured and this weftd carries it (a bundle); it needs no lease. */
  private async startPlugins(): Promise<void> {
    const { options, log } = this;
    if (!options.plugins.serve) return;
    const bundle = bundledPluginHost();
    if (!bundle) {
      log.warn('not serving plugin calls: this weftd runs from source, without the plugin host bundle (node build.mjs)');
      return;
    }
    const host = await startPluginHost({ workers: options.plugins.workers, socketDir: socketDirectory }, bundle, log.child({ component: 'plugins' }), this.metrics);
    this.cleanups.push(() => host.close());
  }

  /** `"overlay": false`: no store, no lease, no data path; ready once the plugin host listens. */
  private async servePluginsOnly(): Promise<undefined> {
    holdInstanceLock(this.options.stateDir);
    await this.startPlugins();
    this.readiness = { ok: true, detail: 'ready: serving plugin calls (no overlay)' };
    this.log.info('weftd ready', { overlay: false });
    return undefined;
  }

  /**
   * Start-up, phase by phase. A phase named by a readiness text says so on /readyz while it runs; the store
   * phases are retried until they succeed (or weftd stops), /readyz saying why they failed.
   */
  private async run(): Promise<DaemonContext | undefined> {
    await this.startOpsServer();
    if (!this.options.overlay) return this.servePluginsOnly();
    const node = await this.prepareNode();
    await this.startPlugins();
    const store = await openLeaseStore(this.options.store);
    this.cleanups.push(() => store.close());
    const config = await this.phase('reading the network config from the store', () => agreeOnConfig(store, node.local), {});
    const mtu = overlayMtu(config, { mtu: node.underlay.mtu, family: node.underlay.address.family });
    const manager = await this.startLeaseManager(store, config, node);
    const lease = await this.phase('acquiring a subnet lease', () => manager.start(), { onError: () => this.errors.acquire++ });
    const context: DaemonContext = {
      log: this.log, metrics: this.metrics, config, underlay: node.underlay, vtepMac: node.vtepMac, mtu, leases: manager, store, status: this.statusSources,
      signal: this.abort.signal,
    };
    await this.phase('starting the data path, the local API and the endpoints of every node', () => this.attachAll(context));
    await this.phase('writing the subnet file', () => this.keepSubnetFile(manager, lease, config, mtu));
    this.context = context;
    this.readiness = { ok: true, detail: 'ready' };
    this.log.info('weftd ready', { subnet: lease.subnet, ipv6Subnet: lease.ipv6Subnet, mtu, subnetFile: this.options.subnetFile });
    return context;
  }

  /**
   * One start-up phase: /readyz says `detail` while it runs. With `retry`, failures are retried with
   * backoff (config errors are not) and /readyz says why.
   */
  private async phase<T>(detail: string, work: () => Promise<T>, retry?: { onError?: (err: unknown) => void }): Promise<T> {
    const { log, abort: { signal } } = this;
    this.readiness = { ok: false, detail };
    const result = retry === undefined ? await work() : await persist(detail, log, signal, work, (err) => {
      retry.onError?.(err);
      this.readiness = retrying(detail, err);
    });
    signal.throwIfAborted();
    return result;
  }

  private async startOpsServer(): Promise<void> {
    const { options, log, abort: { signal } } = this;
    const ops = await startOpsServer({
      ...options.listen,
      metrics: this.metrics,
      health: () => (signal.aborted ? { ok: false, detail: 'stopping' } : { ok: true, detail: 'ok' }),
      ready: () => this.currentReadiness(),
      detailByDefault: () => (this.manager?.leases().length ?? 0) <= perPeerMetricsUpTo,
      status: (params) => {
        const page = peerPage(params);
        if (typeof page === 'string') throw new BadRequest(page);
        return nodeStatus({
          nodeName: options.nodeName,
          readiness: this.currentReadiness(),
          own: this.manager?.lease,
          leases: this.manager?.leases() ?? [],
          dataPath: this.statusSources.dataPath?.(),
          page,
        });
      },
    });
    this.ops = ops;
    this.cleanups.push(() => ops.close());
    log.info('weftd starting', { node: options.nodeName, listen: `${ops.host}:${ops.port}`, store: options.store.type });
  }

  /** What this node brings: the local network config (if any), its state directory's lock, VTEP MAC and underlay. */
  private async prepareNode(): Promise<LocalNode> {
    const { options, log } = this;
    const local = options.network ? parseNetworkConfig(options.network, 'network') : undefined;
    holdInstanceLock(options.stateDir);
    const vtep = await loadVtepMac(options.stateDir);
    if (vtep.created) log.info('generated the VTEP MAC', { vtepMac: vtep.mac, stateDir: options.stateDir });
    const underlay = chooseUnderlay(options.underlay, readUnderlayFacts(options.underlay), options.publicIp);
    log.info('underlay chosen', { by: describeChoice(options.underlay), interface: underlay.name, address: formatIp(underlay.address), mtu: underlay.mtu });
    return { local, vtepMac: vtep.mac, underlay };
  }

  /** The lease manager, told the subnet the subnet file remembers when it is in this network. */
  private async startLeaseManager(store: LeaseStore, config: NetworkConfig, node: LocalNode): Promise<LeaseManager> {
    const { options, log, errors } = this;
    const previous = await readSubnetEnv(options.subnetFile).catch((err: unknown) => {
      log.warn('ignoring the subnet file', { error: err });
      return undefined;
    });
    const previousSubnet = previous && formatCidr(previous.network) === formatCidr(config.network) ? formatCidr(maskedNet(previous.subnet)) : undefined;
    const manager = new LeaseManager({
      store, config, log: log.child({ component: 'lease' }),
      attrs: { nodeName: options.nodeName, publicIp: formatIp(node.underlay.address), vtepMac: node.vtepMac },
      ...(previousSubnet ? { previousSubnet } : {}),
    });
    this.manager = manager;
    this.cleanups.push(() => manager.stop());
    registerLeaseMetrics(this.metrics, manager, errors, () => this.currentReadiness().ok);
    return manager;
  }

  /** The parts that start once the lease is held (data path, API, xDS), in order. */
  private async attachAll(context: DaemonContext): Promise<void> {
    for (const attach of this.attachments) {
      const attachment = await attach(context);
      this.cleanups.push(() => attachment.stop());
      this.abort.signal.throwIfAborted();
    }
  }

  /** Writes the subnet file for `lease`, and again whenever this node's lease changes. */
  private async keepSubnetFile(manager: LeaseManager, lease: Lease, config: NetworkConfig, mtu: number): Promise<void> {
    const { options, log, errors } = this;
    const writeState = async (own: Lease) => {
      try {
        await writeSubnetEnv(options.subnetFile, {
          network: config.network,
          subnet: gatewayForm(parseCidr(own.subnet)),
          ...(config.ipv6 && own.ipv6Subnet ? { ipv6Network: config.ipv6.network, ipv6Subnet: gatewayForm(parseCidr(own.ipv6Subnet)) } : {}),
          mtu,
          ipMasq: config.ipMasq,
          ...(options.dns ? { dnsDomain: config.domain } : {}),
        });
      } catch (err) {
        errors.subnetFile++;
        throw err;
      }
    };
    await writeState(lease);
    manager.subscribe((event) => {
      if (event.reason !== 'own-lease') return;
      writeState(event.own).catch((err: unknown) => log.error('rewriting the subnet file failed', { error: err, path: options.subnetFile }));
    });
  }
}
