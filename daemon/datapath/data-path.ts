// The data path over time: every lease change, every kernel change to what it programmed and every tick
// of a timer reconciles the kernel with the current leases (reconcile.ts), one run at a time, changes
// arriving during a run coalesced into the next.
//
// Kernel changes come from rtnetlink's notifications (lib/netlink KernelWatch): an operator deleting the
// device or a route is answered at once, not at the next tick. The timer stays for what notifications do
// not tell (IPv4 routes that go with their link are not announced; notifications lost to an overflow are
// answered with a run, but a lost one is a lost one) and as a floor. A run that finds nothing to do costs
// a few netlink dumps (about a millisecond for a hundred peers), so every 5 s by default; the nftables
// rules, which need a listing of the host's whole ruleset (other software's included), are rewritten when
// the networks change and every minute.
//
// Between full runs the data path is incremental (kernel-view.ts): a lease change plans and applies only
// the entries whose desired state changed, against a view of the kernel kept from the last full run and
// the kernel's notifications (weft's own changes included, so they start no second run); a notification
// that leaves one of weft's entries unlike the desired state has that entry put back the same way. Full
// runs remain the single source of truth: at start, on the timer, when this node's own lease, the device
// or the underlay changes, when notifications were lost (ENOBUFS), and after a refused change.
//
// Stopping leaves the kernel as it is: containers keep talking while the daemon restarts, and the next
// start reconciles whatever changed meanwhile.
import { formatCidr } from '../../lib/ip/cidr.ts';
import { setOverlayRules } from '../../lib/nat/overlay.ts';
import { KernelWatch, Netlink, type KernelChange } from '../../lib/netlink/index.ts';
import { sameSpec, type LeaseSpec } from '../lease/lease.ts';
import type { Logger } from '../log.ts';
import type { NetworkConfig } from '../network-config.ts';
import type { Underlay } from '../underlay.ts';
import { desiredDataPath, deviceName, type DesiredDataPath } from './desired-state.ts';
import { concernsDataPath } from './kernel-changes.ts';
import { indexDesired, KernelView, mergeKeys, noKeys, planKeys, touchedKeys, type DesiredIndex, type EntryKeys } from './kernel-view.ts';
import { describeStep } from './plan.ts';
import { applySteps, ensureForwarding, readUnderlayState, reconcileKernel, type ReconcileOutcome } from './reconcile.ts';

export interface DataPathOptions {
  readonly config: NetworkConfig;
  readonly underlay: Underlay;
  readonly log: Logger;
  /** The namespace to program (a path); the daemon's own when absent. Tests drive a simulated host. */
  readonly netns?: string;
  /** Between full runs (what repairs a kernel changed behind the daemon's back). */
  readonly intervalMs: number;
  /** Between checks of the firewall rules, which runs between them skip. */
  readonly natIntervalMs: number;
  /** Called after each run with the state it programmed (the prober follows the peers). */
  readonly onProgrammed?: (desired: DesiredDataPath) => void;
}

/** Counters and the last run, for /metrics and status output. */
export interface DataPathStats {
  runs: number;
  /** Runs that failed outright or had changes refused. */
  failedRuns: number;
  /** Kernel changes applied. */
  changes: number;
  /** Times the device was created or recreated. */
  deviceCreations: number;
  lastRunAt: number | undefined;
  lastRunMs: number | undefined;
  lastError: string | undefined;
  natRuns: number;
  natFailures: number;
  /** Runs started by a kernel change to what the data path programmed. */
  kernelRuns: number;
  /** Times kernel change notifications were lost (each answered with a run). */
  notificationsLost: number;
  /** Runs that planned only the entries a lease or kernel change touched. */
  incrementalRuns: number;
  /** How long the last full run took. */
  lastFullRunMs: number | undefined;
}

// Kernel changes are answered this soon, to take a burst (a deleted device takes its entries along) in one
// run. Runs they start, with no lease change behind them, that keep having to put something back (more
// than a few in a row: a deletion still under way can take two or three) double the wait before the next,
// up to the period; any run that finds nothing to do resets it. Another program undoing what weft does
// (two controllers of one device) thus ends up at the pace of the timer, not in a loop as fast as the two
// can go, while a one-off repair keeps the short wait.
const kernelDelayMs = 20;
/** Periodic full runs wait at least this many times the last one's duration (1% of a core). */
const fullRunBudget = 100;
const repairsBeforeBackoff = 3;

export class DataPath {
  readonly stats: DataPathStats = {
    runs: 0, failedRuns: 0, changes: 0, deviceCreations: 0, lastRunAt: undefined, lastRunMs: undefined, lastError: undefined,
    natRuns: 0, natFailures: 0, kernelRuns: 0, notificationsLost: 0, incrementalRuns: 0, lastFullRunMs: undefined,
  };

  private leases: { own: LeaseSpec; all: readonly LeaseSpec[] } | undefined;
  private programmed: DesiredDataPath | undefined;
  private nl: Netlink | undefined;
  private timer: NodeJS.Timeout | undefined;
  private watch: KernelWatch | undefined;
  private deviceIndex: number | undefined;
  /** The next run, and when it is due; a sooner request replaces a later one. */
  private pending: { timer: NodeJS.Timeout; at: number } | undefined;
  private kernelWanted = false;
  private leasesChanged = false;
  /** The next run must be a full one (no view yet, own lease, device or underlay changed, notifications lost). */
  private fullWanted = true;
  private view: KernelView | undefined;
  private index: DesiredIndex | undefined;
  /** Entries notifications left unlike the desired state, to put right on the next run. */
  private suspects: EntryKeys[] = [];
  private underlayMtu: number | undefined;
  private kernelDelay = kernelDelayMs;
  private repairsInARow = 0;
  private natWanted = true;
  private natAt = 0;
  private natRunning: Promise<void> | undefined;
  private natNetworks = '';
  private stopped = false;
  private readonly log: Logger;

  constructor(private readonly options: DataPathOptions) {
    this.log = options.log.child({ component: 'datapath' });
  }

  /** The state the last run programmed. */
  get desired(): DesiredDataPath | undefined {
    return this.programmed;
  }

  /**
   * The first run, with this node's lease and every lease: creates the device and every peer's entries,
   * removes what is stale. Throws when the kernel refuses the device (the daemon cannot work without it).
   */
  start(own: LeaseSpec, leases: readonly LeaseSpec[]): ReconcileOutcome {
    this.leases = { own, all: leases };
    this.nl = Netlink.open(this.options.netns);
    // Watching from before the first run: nothing that happens meanwhile goes unseen.
    const name = deviceName(this.options.config.vni);
    this.watch = KernelWatch.open(this.options.netns, ['link', 'address', 'route', 'neighbour', 'fdb'], {
      onChanges: (changes) => this.onKernelChanges(changes, name),
      onLost: (reason) => {
        this.stats.notificationsLost++;
        this.log.warn('kernel change notifications were lost; checking everything', { reason });
        this.fullWanted = true;
        this.kernelChanged();
      },
    });
    const outcome = this.runOnce();
    if (!outcome) {
      this.watch.close();
      throw new Error(`the data path could not be programmed: ${this.stats.lastError}`);
    }
    this.periodic();
    return outcome;
  }

  /**
   * The periodic full run, every interval, but never more than about 1% of a core: at 5,000 peers a full
   * run takes ~0.1 s, so its period stretches to ~10 s (notifications answer changes in between).
   */
  private periodic(): void {
    const lastFullMs = this.stats.lastFullRunMs ?? 0;
    this.timer = setTimeout(() => {
      this.run();
      if (!this.stopped) this.periodic();
    }, Math.max(this.options.intervalMs, lastFullMs * fullRunBudget));
    this.timer.unref();
  }

  /** The leases changed: reconcile right after the current event-loop turn (changes in between coalesce). */
  update(own: LeaseSpec, leases: readonly LeaseSpec[]): void {
    // This node's own lease moved: its device addresses change, which only a full run does.
    if (this.leases && !sameSpec(this.leases.own, own)) this.fullWanted = true;
    this.leases = { own, all: leases };
    this.leasesChanged = true;
    this.schedule(0);
  }

  /**
   * Weft's own entries are followed in the view: a change that leaves one unlike the desired state (not
   * weft's own change) has it put back. Anything else the data path depends on (the device, its
   * addresses, the underlay) takes a full run.
   */
  private onKernelChanges(changes: readonly KernelChange[], name: string): void {
    let wanted = false;
    for (const change of changes) {
      const keys = this.view?.apply(change);
      if (keys) {
        if (this.index && planKeys(this.index, this.view!, keys, this.links()).length > 0) {
          this.suspects.push(keys);
          wanted = true;
        }
      } else if (concernsDataPath(change, {
        desired: this.programmed, deviceName: name, deviceIndex: this.deviceIndex, underlayIndex: this.options.underlay.index, underlayMtu: this.underlayMtu,
      })) {
        // Before the first run there is no view: any change of weft's is answered in full.
        if (change.kind === 'link' || change.kind === 'address' || !this.view) this.fullWanted = true;
        wanted = true;
      }
    }
    if (wanted) this.kernelChanged();
  }

  private links(): { device: number; underlay: number } {
    return { device: this.deviceIndex!, underlay: this.options.underlay.index };
  }

  private kernelChanged(): void {
    this.kernelWanted = true;
    this.schedule(this.kernelDelay);
  }

  /** After every run: back off while repairs the kernel asked for keep finding work, reset once a run finds none. */
  private paceKernelRuns(outcome: ReconcileOutcome | undefined, repairing: boolean): void {
    if (outcome && outcome.steps.length === 0) {
      this.kernelDelay = kernelDelayMs;
      this.repairsInARow = 0;
      return;
    }
    if (!repairing || ++this.repairsInARow <= repairsBeforeBackoff) return;
    const capped = this.kernelDelay * 2 >= this.options.intervalMs;
    if (capped && this.kernelDelay < this.options.intervalMs) {
      this.log.warn('what the data path programs keeps changing under it; answering kernel changes at the pace of the period', {
        hint: 'another program may manage the same device or routes',
      });
    }
    this.kernelDelay = Math.min(this.kernelDelay * 2, this.options.intervalMs);
  }

  private schedule(delayMs: number): void {
    if (this.stopped || !this.nl) return;
    const at = Date.now() + delayMs;
    if (this.pending && this.pending.at <= at) return;
    if (this.pending) clearTimeout(this.pending.timer);
    const timer = setTimeout(() => {
      this.pending = undefined;
      if (this.stopped || !this.nl) return;
      if (this.fullWanted || !this.view) this.runOnce();
      else this.runIncremental();
    }, delayMs);
    this.pending = { timer, at };
  }

  /** Stops the timer and waits for a rule update in flight. The kernel keeps the data path. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.pending) clearTimeout(this.pending.timer);
    this.pending = undefined;
    this.watch?.close();
    this.watch = undefined;
    await this.natRunning;
    this.nl?.close();
    this.nl = undefined;
  }

  /** A full run now (the timer's; also for tests and the benchmark); undefined when it failed (see stats.lastError). */
  run(): ReconcileOutcome | undefined {
    if (this.stopped || !this.nl) return undefined;
    return this.runOnce();
  }

  private runOnce(): ReconcileOutcome | undefined {
    const started = performance.now();
    // What this run answers, whichever timer started it: changes in between coalesce into it.
    const repairing = this.kernelWanted && !this.leasesChanged;
    if (this.kernelWanted) this.stats.kernelRuns++;
    this.kernelWanted = false;
    this.leasesChanged = false;
    this.stats.runs++;
    this.stats.lastRunAt = Date.now();
    let outcome: ReconcileOutcome | undefined;
    try {
      const nl = this.nl!;
      const { own, all } = this.leases!;
      const underlay = readUnderlayState(nl, this.options.underlay);
      this.underlayMtu = underlay.mtu;
      const desired = desiredDataPath({ config: this.options.config, own, leases: all, underlay });
      this.fullWanted = false;
      this.suspects = [];
      outcome = reconcileKernel(nl, desired);
      this.deviceIndex = outcome.deviceIndex;
      this.view ??= new KernelView(outcome.deviceIndex);
      this.view.reset(outcome.observed!, outcome.deviceIndex, outcome.steps);
      this.index = indexDesired(desired);
      // A refused change is tried again by the next full run.
      if (outcome.failures.length > 0) this.fullWanted = true;
      const forwarding = ensureForwarding(nl, desired.networks.map((n) => n.address.family));
      if (forwarding.length > 0) this.log.info('turned on forwarding', { sysctls: forwarding });
      this.report(desired, outcome);
      this.programmed = desired;
      this.options.onProgrammed?.(desired);
      this.maybeUpdateRules(desired);
    } catch (err) {
      this.fullWanted = true;
      this.stats.failedRuns++;
      this.stats.lastError = err instanceof Error ? err.message : String(err);
      this.log.error('reconciling the data path failed; retrying on the next run', { error: err });
    } finally {
      this.stats.lastRunMs = performance.now() - started;
      this.stats.lastFullRunMs = this.stats.lastRunMs;
    }
    this.paceKernelRuns(outcome, repairing);
    return outcome;
  }

  /** Plans and applies only the entries that lease changes and suspect notifications touched. */
  private runIncremental(): void {
    const started = performance.now();
    const repairing = this.kernelWanted && !this.leasesChanged;
    if (this.kernelWanted) this.stats.kernelRuns++;
    this.kernelWanted = false;
    let outcome: ReconcileOutcome | undefined;
    try {
      const before = this.index!;
      let index = before;
      let desired = this.programmed!;
      if (this.leasesChanged) {
        this.leasesChanged = false;
        const { own, all } = this.leases!;
        desired = desiredDataPath({ config: this.options.config, own, leases: all, underlay: readUnderlayState(this.nl!, this.options.underlay) });
        index = indexDesired(desired);
      }
      const keys = mergeKeys([touchedKeys(before, index), ...this.suspects.splice(0)]);
      const steps = noKeys(keys) ? [] : planKeys(index, this.view!, keys, this.links());
      const failures = applySteps(this.nl!, steps);
      this.view!.applySteps(steps);
      this.index = index;
      this.stats.runs++;
      this.stats.incrementalRuns++;
      this.stats.lastRunAt = Date.now();
      outcome = { device: 'kept', deviceIndex: this.deviceIndex!, steps, failures };
      if (failures.length > 0) this.fullWanted = true;
      this.report(desired, outcome);
      if (desired !== this.programmed) this.options.onProgrammed?.(desired);
      this.programmed = desired;
    } catch (err) {
      this.fullWanted = true;
      this.stats.failedRuns++;
      this.stats.lastError = err instanceof Error ? err.message : String(err);
      this.log.error('updating the data path failed; running in full next', { error: err });
      this.schedule(0);
    } finally {
      this.stats.lastRunMs = performance.now() - started;
    }
    this.paceKernelRuns(outcome, repairing);
  }

  private report(desired: DesiredDataPath, outcome: ReconcileOutcome): void {
    this.stats.changes += outcome.steps.length - outcome.failures.length;
    if (outcome.device === 'created' || outcome.device === 'recreated') {
      this.stats.deviceCreations++;
      this.log.info(`${outcome.device} ${desired.device.name}`, { reason: outcome.deviceReason });
    }
    if (outcome.failures.length > 0) {
      this.stats.failedRuns++;
      this.stats.lastError = outcome.failures[0];
      this.log.error('the kernel refused data path changes; retrying on the next run', { failures: outcome.failures });
    } else {
      this.stats.lastError = undefined;
    }
    if (outcome.steps.length > 0) {
      this.log.info('data path changed', { changes: outcome.steps.length, peers: desired.peers.length });
      for (const step of outcome.steps) this.log.debug(describeStep(step));
    }
    // Leases that cannot be programmed are logged each time the set of them changes.
    const skipped = desired.skipped.map((s) => `${s.nodeName} ${s.subnet}: ${s.reason}`).join('; ');
    const before = this.programmed?.skipped.map((s) => `${s.nodeName} ${s.subnet}: ${s.reason}`).join('; ') ?? '';
    if (skipped !== '' && skipped !== before) this.log.warn('leases left out of the data path', { skipped: desired.skipped });
  }

  private maybeUpdateRules(desired: DesiredDataPath): void {
    const networks = desired.networks.map(formatCidr).join(',');
    const due = Date.now() - this.natAt >= this.options.natIntervalMs;
    if (networks !== this.natNetworks || due) this.natWanted = true;
    if (!this.natWanted || this.natRunning) return;
    this.natWanted = false;
    this.natAt = Date.now();
    this.natNetworks = networks;
    this.natRunning = this.updateRules(desired).finally(() => {
      this.natRunning = undefined;
    });
  }

  private async updateRules(desired: DesiredDataPath): Promise<void> {
    this.stats.natRuns++;
    try {
      // Forwarding is accepted whatever ipMasq says; only the masquerade chain follows it.
      await setOverlayRules({ networks: desired.networks, masquerade: this.options.config.ipMasq }, { netns: this.options.netns });
    } catch (err) {
      this.stats.natFailures++;
      this.natWanted = true;
      this.log.error('updating the overlay firewall rules failed; retrying on the next run', { error: err });
    }
  }
}
