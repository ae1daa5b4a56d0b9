// Overlay path health: each interval, every peer is probed on three paths (probe-message.ts says what
// each one proves) and the daemon answers its peers' probes. Plain `dgram` sockets, no raw sockets:
//   underlay socket  bound to the underlay interface's address and the probe port. Sends underlay
//                    probes, hand-built VXLAN frames (to peers' VTEP port) and the answers to overlay
//                    probes; receives underlay probes and their answers.
//   overlay sockets  bound to this node's device addresses (IPv4, and IPv6 on dual stack) and the probe
//                    port. Receive every overlay probe and answer, after the kernel's VTEP has
//                    decapsulated it.
//   kernel probes    each from a socket of its own on the device address, connected to the peer's overlay
//                    address and probe port, closed once its slice is judged. The peer's daemon answers; while
//                    that daemon is away (a restart), the peer's kernel does, with ICMP port unreachable,
//                    which a connected socket reports as ECONNREFUSED. Either answer crossed both kernels'
//                    data paths, so a peer whose daemon merely restarts is not taken for a dead one.
// Sockets get their namespace when they are made: weftd runs inside the host's namespace, so they are the
// host's. Only peers with a lease are answered (an answer goes where the lease says, never where a
// datagram claims), and an answer is no larger than its request: nothing to amplify.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { formatIp, ipEquals, tryParseIp, type IpAddress, type IpFamily } from '../../lib/ip/address.ts';
import { encodeVxlanFrame } from '../../lib/vxlan/index.ts';
import type { Logger } from '../log.ts';
import { Histogram } from '../ops/metrics.ts';
import type { Peer } from './desired-state.ts';
import { decodeProbe, encodeProbe, verdict, type ProbeMessage } from './probe-message.ts';
import type { PeerVerdict, ProbePath, ProbeResponder } from '../../lib/weftd-api/node-status.ts';
import { changesLoggedEach, probeSlices, summarizeChanges, type VerdictChange } from './probe-round.ts';

export const defaultProbeTimeoutMs = 1000;

export interface ProberOptions {
  readonly vni: number;
  /** The VXLAN UDP port peers' VTEPs listen on. */
  readonly vxlanPort: number;
  /** UDP port of the probes, on the underlay and the overlay addresses: the network config's, shared by every node. */
  readonly probePort: number;
  /** Between rounds. */
  readonly intervalMs: number;
  readonly timeoutMs?: number;
  readonly log: Logger;
  /** Called with every peer's health after each round, and as soon as a slice of it changes a verdict. */
  readonly onRound?: (results: readonly PeerHealth[]) => void;
}

/** This node as the prober needs it. */
export interface ProberSelf {
  readonly nodeName: string;
  /** The address in this node's lease (peers answer underlay probes to where they came from). */
  readonly publicIp: IpAddress;
  /** The underlay interface's own address, which sockets can bind. */
  readonly bindAddress: IpAddress;
  readonly vtepMac: string;
  /** The device's addresses, IPv4 first. */
  readonly gateways: readonly IpAddress[];
}

export interface PathState {
  sent: number;
  answered: number;
  /** Last round: answered, and how fast. */
  lastOk: boolean;
  lastRttMs: number | undefined;
  lastError: string | undefined;
  /** Who answered last round: the peer's daemon, or (kernel paths, its daemon away) the peer's kernel. */
  lastAnsweredBy: ProbeResponder | undefined;
}

export interface PeerHealth {
  readonly nodeName: string;
  readonly publicIp: string;
  readonly verdict: PeerVerdict;
  /** When the verdict last changed (ms since the epoch). */
  readonly since: number;
  readonly checkedAt: number;
  readonly paths: Readonly<Partial<Record<ProbePath, Readonly<PathState>>>>;
}

interface PeerState {
  verdict: PeerVerdict;
  since: number;
  checkedAt: number;
  readonly paths: Partial<Record<ProbePath, PathState>>;
}

interface SentProbe {
  readonly peer: Peer;
  readonly path: ProbePath;
  readonly seq: number;
  error: Error | undefined;
}

interface Pending {
  readonly peer: string;
  readonly path: ProbePath;
  readonly sentAt: number;
  rttMs?: number;
  by?: ProbeResponder;
}

const isKernelPath = (path: ProbePath): boolean => path === 'kernel' || path === 'kernel6';

function socketType(family: IpFamily): 'udp4' | 'udp6' {
  return family === 4 ? 'udp4' : 'udp6';
}

function bind(address: IpAddress, port: number, onMessage: (msg: Buffer, rinfo: RemoteInfo) => void, log: Logger): Promise<Socket> {
  const socket = createSocket({ type: socketType(address.family) });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: formatIp(address), port, exclusive: true }, () => {
      socket.off('error', reject);
      // Datagram sockets only fail on send (reported per send) or on bind: log anything else.
      socket.on('error', (err) => log.warn('probe socket error', { error: err, address: formatIp(address) }));
      socket.on('message', onMessage);
      resolve(socket);
    });
  });
}

/** A socket bound to `local` (any port) and connected to `remote`: it sees the ICMP errors `remote` causes. */
function connected(local: IpAddress, remote: IpAddress, port: number): Promise<Socket> {
  const socket = createSocket({ type: socketType(local.family) });
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => {
      socket.close();
      reject(err);
    };
    socket.once('error', fail);
    socket.bind({ address: formatIp(local), port: 0, exclusive: true }, () => {
      socket.connect(port, formatIp(remote), () => {
        socket.off('error', fail);
        resolve(socket);
      });
    });
  });
}

function send(socket: Socket, data: Buffer, port: number, address: IpAddress): Promise<Error | undefined> {
  return new Promise((resolve) => socket.send(data, port, formatIp(address), (err) => resolve(err ?? undefined)));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

function sameSelf(a: ProberSelf | undefined, b: ProberSelf): boolean {
  return a !== undefined && a.nodeName === b.nodeName && a.vtepMac === b.vtepMac && ipEquals(a.bindAddress, b.bindAddress) &&
    ipEquals(a.publicIp, b.publicIp) && a.gateways.length === b.gateways.length && a.gateways.every((g, i) => ipEquals(g, b.gateways[i]!));
}

/** Round-trip time buckets (seconds): a LAN's fraction of a millisecond up to the timeout. */
const rttBounds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** Probes of all peers by path, for metrics that do not grow with the cluster. */
export interface PathTotals {
  sent: number;
  answered: number;
  readonly rttSeconds: Histogram;
}

export class OverlayProber {
  /** Requests from nodes without a lease here, ignored. */
  unknownRequests = 0;
  readonly totals = new Map<ProbePath, PathTotals>();
  readonly probePort: number;

  private self: ProberSelf | undefined;
  private peers: readonly Peer[] = [];
  /** The peers by node name: a request is checked against its sender's lease in constant time. */
  private byName = new Map<string, Peer>();
  private underlay: Socket | undefined;
  private readonly overlay = new Map<IpFamily, Socket>();
  private readonly pending = new Map<number, Pending>();
  /** The kernel probes' sockets of the round in progress. */
  /** Each kernel probe's own socket, by sequence number, until its slice is judged. */
  private readonly kernelSockets = new Map<number, Socket>();
  private readonly health = new Map<string, PeerState>();
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private rounds: Promise<unknown> | undefined;
  private roundDue = false;
  private readonly log: Logger;

  constructor(private readonly options: ProberOptions) {
    this.probePort = options.probePort;
    this.log = options.log.child({ component: 'probe' });
  }

  /**
   * Sets this node (binding the sockets again when its addresses changed) and the peers to probe. Call
   * once the device carries its addresses: the overlay sockets bind to them.
   */
  async configure(self: ProberSelf, peers: readonly Peer[]): Promise<void> {
    this.peers = peers;
    this.byName = new Map(peers.map((p) => [p.nodeName, p]));
    for (const name of this.health.keys()) if (!this.byName.has(name)) this.health.delete(name);
    if (sameSelf(this.self, self)) return;
    this.closeSockets();
    this.self = self;
    const port = this.probePort;
    this.underlay = await bind(self.bindAddress, port, (msg, rinfo) => this.onUnderlay(msg, rinfo), this.log);
    for (const gateway of self.gateways) {
      this.overlay.set(gateway.family, await bind(gateway, port, (msg, rinfo) => this.onOverlay(msg, rinfo), this.log));
    }
  }

  /** Probes every interval until stopped. */
  start(): void {
    this.timer = setInterval(() => this.nextRound(), this.options.intervalMs);
    this.timer.unref();
  }

  /** A round, or when one is still finishing (its last slice's timeout), the next right after it. */
  private nextRound(): void {
    if (this.rounds) {
      this.roundDue = true;
      return;
    }
    this.roundDue = false;
    this.rounds = this.round().finally(() => {
      this.rounds = undefined;
      if (this.roundDue && this.timer) this.nextRound();
    });
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    // The round in progress sends no further slice once this node is unset.
    this.self = undefined;
    await this.rounds;
    this.closeSockets();
  }

  /** Every peer's health as of the last round, in lease order. */
  results(): PeerHealth[] {
    return this.peers.flatMap((p) => {
      const s = this.health.get(p.nodeName);
      return s ? [{ nodeName: p.nodeName, publicIp: formatIp(p.publicIp), ...s, paths: { ...s.paths } }] : [];
    });
  }

  /**
   * One round now: every peer probed on every path, in slices spread over the interval (probe-round.ts),
   * each slice's verdicts recorded one timeout after it was sent.
   */
  async round(): Promise<PeerHealth[]> {
    const self = this.self;
    if (!self || !this.underlay) return [];
    const peers = this.peers;
    const timeoutMs = this.options.timeoutMs ?? defaultProbeTimeoutMs;
    const started = performance.now();
    const changes: VerdictChange[] = [];
    const decided: Promise<void>[] = [];
    for (const slice of probeSlices(peers.length, this.options.intervalMs, timeoutMs)) {
      const wait = slice.atMs - (performance.now() - started);
      if (wait > 0) await sleep(wait);
      // Stopped or rebound meanwhile: the sockets this round sent from are gone.
      if (this.self !== self) break;
      const sent = this.sendSlice(self, peers.slice(slice.from, slice.to), timeoutMs);
      decided.push(sleep(timeoutMs).then(() => this.decide(sent, changes)));
    }
    await Promise.all(decided);
    const summary = summarizeChanges(changes);
    if (summary) this.log.warn(summary.msg, summary.fields);
    const results = this.results();
    this.options.onRound?.(results);
    return results;
  }

  /**
   * Sends a slice's probes without waiting on each datagram; each send's error lands in its entry. A peer
   * healthy in the last round gets its kernel probes only: the verdict needs the other paths only when
   * the kernel path fails, so they follow half a timeout later to the peers whose kernel probe has no
   * answer yet, and are judged with it (one datagram per healthy peer instead of three).
   */
  private sendSlice(self: ProberSelf, peers: readonly Peer[], timeoutMs: number): SentProbe[] {
    const sent: SentProbe[] = [];
    const kernelFirst: SentProbe[] = [];
    for (const peer of peers) {
      const paths = this.pathsTo(peer);
      const state = this.health.get(peer.nodeName);
      if (state?.verdict === 'healthy' && state.paths.kernel) {
        kernelFirst.push(this.sendPaths(self, peer, ['kernel'], sent)[0]!);
        if (paths.includes('kernel6')) this.sendPaths(self, peer, ['kernel6'], sent);
      } else {
        this.sendPaths(self, peer, paths, sent);
      }
    }
    if (kernelFirst.length > 0) {
      void sleep(timeoutMs / 2).then(() => {
        if (this.self !== self) return;
        for (const { peer, seq } of kernelFirst) {
          if (this.pending.get(seq)?.rttMs === undefined) this.sendPaths(self, peer, this.pathsTo(peer).filter((p) => !isKernelPath(p)), sent);
        }
      });
    }
    return sent;
  }

  /** Sends `paths` to `peer`, adding their entries to `sent`; returns them. */
  private sendPaths(self: ProberSelf, peer: Peer, paths: readonly ProbePath[], sent: SentProbe[]): SentProbe[] {
    const now = performance.now();
    return paths.map((path) => {
      const seq = ++this.seq;
      this.pending.set(seq, { peer: peer.nodeName, path, sentAt: now });
      const entry: SentProbe = { peer, path, seq, error: undefined };
      void this.sendProbe(self, peer, path, seq).then((error) => (entry.error = error));
      sent.push(entry);
      return entry;
    });
  }

  /** Records the outcome of a slice's probes and the verdicts they give. */
  private decide(sent: readonly SentProbe[], changes: VerdictChange[]): void {
    this.closeKernelSockets(sent);
    const changesBefore = changes.length;
    const now = Date.now();
    const answered = new Map<string, Set<ProbePath>>();
    for (const { peer, path, seq, error } of sent) {
      const p = this.pending.get(seq);
      this.pending.delete(seq);
      // A peer whose lease went during the round is not recorded again.
      if (!this.byName.has(peer.nodeName)) continue;
      const state = this.peerState(peer.nodeName, now);
      const s = (state.paths[path] ??= { sent: 0, answered: 0, lastOk: false, lastRttMs: undefined, lastError: undefined, lastAnsweredBy: undefined });
      s.sent++;
      const total = this.totals.get(path) ?? { sent: 0, answered: 0, rttSeconds: new Histogram(rttBounds) };
      this.totals.set(path, total);
      total.sent++;
      if (p?.rttMs !== undefined) {
        total.answered++;
        total.rttSeconds.observe(p.rttMs / 1000);
      }
      s.lastOk = p?.rttMs !== undefined;
      s.lastRttMs = p?.rttMs;
      s.lastAnsweredBy = p?.by;
      s.lastError = error?.message ?? (s.lastOk ? undefined : 'no answer');
      let set = answered.get(peer.nodeName);
      if (!set) answered.set(peer.nodeName, (set = new Set()));
      if (s.lastOk) {
        s.answered++;
        set.add(path);
      }
    }
    for (const [name, paths] of answered) {
      const state = this.health.get(name)!;
      const v = verdict(paths);
      state.checkedAt = now;
      if (v === state.verdict) continue;
      const change: VerdictChange = { peer: name, from: state.verdict, to: v };
      changes.push(change);
      if (changes.length <= changesLoggedEach) {
        const log = v === 'healthy' ? this.log.info.bind(this.log) : this.log.warn.bind(this.log);
        log('peer path health changed', { peer: name, from: change.from, to: v });
      }
      state.verdict = v;
      state.since = now;
    }
    // A changed verdict is reported at once, not at the end of the round (the endpoints' health follows it).
    if (changes.length > changesBefore) this.options.onRound?.(this.results());
  }

  private peerState(name: string, now: number): PeerState {
    let state = this.health.get(name);
    if (!state) {
      // A new peer starts as healthy so that its first real verdict is logged only when it is not.
      state = { verdict: 'healthy', since: now, checkedAt: now, paths: {} };
      this.health.set(name, state);
    }
    return state;
  }

  private pathsTo(peer: Peer): ProbePath[] {
    const paths: ProbePath[] = ['kernel', 'vtep', 'underlay'];
    if (peer.gateways[1] && this.overlay.has(6)) paths.splice(1, 0, 'kernel6');
    return paths;
  }

  private sendProbe(self: ProberSelf, peer: Peer, path: ProbePath, seq: number): Promise<Error | undefined> {
    const request = encodeProbe({ op: 'request', path, seq, nodeName: self.nodeName, publicIp: self.publicIp, vtepMac: self.vtepMac });
    switch (path) {
      case 'underlay':
        return send(this.underlay!, request, this.probePort, peer.publicIp);
      case 'vtep':
        return send(this.underlay!, this.encapsulate(self, peer, 4, this.probePort, request)!, this.options.vxlanPort, peer.publicIp);
      case 'kernel':
      case 'kernel6': {
        const family: IpFamily = path === 'kernel' ? 4 : 6;
        return this.sendKernelProbe(self.gateways.find((g) => g.family === family)!, peer.gateways.find((g) => g.family === family)!, request, seq);
      }
    }
  }

  private async sendKernelProbe(from: IpAddress, to: IpAddress, request: Buffer, seq: number): Promise<Error | undefined> {
    let socket: Socket;
    try {
      socket = await connected(from, to, this.probePort);
    } catch (err) {
      return err as Error;
    }
    this.kernelSockets.set(seq, socket);
    socket.on('message', (msg) => {
      const m = decodeProbe(msg);
      if (m?.op === 'reply') this.onReply(m);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const p = this.pending.get(seq);
      if (err.code === 'ECONNREFUSED' && p && p.rttMs === undefined) this.answered(p, 'kernel');
    });
    return new Promise((resolve) => socket.send(request, (err) => resolve(err ?? undefined)));
  }

  /** A VXLAN frame from this node's device address to the peer's, as the peer's VTEP expects it. */
  private encapsulate(self: ProberSelf, peer: Peer, family: IpFamily, dstPort: number, payload: Buffer): Buffer | undefined {
    const src = self.gateways.find((g) => g.family === family);
    const dst = peer.gateways.find((g) => g.family === family);
    if (!src || !dst) return undefined;
    return encodeVxlanFrame(this.options.vni, {
      dst: peer.vtepMac,
      src: self.vtepMac,
      content: { kind: 'udp', ip: { src, dst }, udp: { srcPort: this.probePort, dstPort, payload } },
    });
  }

  private knownSender(m: ProbeMessage & { op: 'request' }): Peer | undefined {
    const peer = this.byName.get(m.nodeName);
    if (peer && peer.vtepMac === m.vtepMac && ipEquals(peer.publicIp, m.publicIp)) return peer;
    this.unknownRequests++;
    return undefined;
  }

  private onUnderlay(msg: Buffer, rinfo: RemoteInfo): void {
    const m = decodeProbe(msg);
    if (m?.op === 'reply') return this.onReply(m);
    if (m?.op !== 'request' || m.path !== 'underlay' || !this.self || !this.knownSender(m)) return;
    void send(this.underlay!, encodeProbe({ op: 'reply', path: m.path, seq: m.seq, nodeName: this.self.nodeName }), rinfo.port, tryParseIp(rinfo.address)!);
  }

  private onOverlay(msg: Buffer, rinfo: RemoteInfo): void {
    const m = decodeProbe(msg);
    if (m?.op === 'reply') return this.onReply(m);
    const self = this.self;
    if (m?.op !== 'request' || m.path === 'underlay' || !self) return;
    const peer = this.knownSender(m);
    const from = tryParseIp(rinfo.address);
    if (!peer || !from || !peer.gateways.some((g) => ipEquals(g, from))) return;
    // The answer goes straight to the sender's VTEP, so it tests no route of this node's.
    const reply = encodeProbe({ op: 'reply', path: m.path, seq: m.seq, nodeName: self.nodeName });
    const frame = this.encapsulate(self, peer, from.family, rinfo.port, reply);
    if (frame) void send(this.underlay!, frame, this.options.vxlanPort, peer.publicIp);
  }

  private onReply(m: ProbeMessage & { op: 'reply' }): void {
    const p = this.pending.get(m.seq);
    if (p && p.peer === m.nodeName && p.path === m.path && p.rttMs === undefined) this.answered(p, 'daemon');
  }

  private answered(p: Pending, by: ProbeResponder): void {
    p.rttMs = performance.now() - p.sentAt;
    p.by = by;
  }

  /** Closes the kernel probes' sockets of `sent` (all of them without). */
  private closeKernelSockets(sent?: readonly SentProbe[]): void {
    for (const seq of sent ? sent.map((e) => e.seq) : [...this.kernelSockets.keys()]) {
      this.kernelSockets.get(seq)?.close();
      this.kernelSockets.delete(seq);
    }
  }

  private closeSockets(): void {
    this.underlay?.close();
    this.underlay = undefined;
    for (const socket of this.overlay.values()) socket.close();
    this.overlay.clear();
    this.closeKernelSockets();
  }
}
