// One netlink socket (rtnetlink, or nfnetlink for nftables) bound to a network namespace: sends requests
// and returns their replies, turning the kernel's refusals into NetlinkErrors that name the operation and
// the namespace.
import { closeSync } from 'node:fs';
import { nativeNetlink } from './addon.ts';
import { setSequence, splitMessages, type Message } from './codec.ts';
import { NetlinkBatchError, NetlinkError } from './errors.ts';

/** A finished message and what it does, in words, for error messages (worded only on failure). */
export interface Request {
  readonly message: Buffer;
  readonly operation: () => string;
}

export type NetlinkProtocol = 'route' | 'netfilter';
const protocolNumbers: Record<NetlinkProtocol, number> = { route: 0, netfilter: 12 };

// A dump that the kernel flags as inconsistent (the table changed meanwhile) is repeated this often.
const dumpAttempts = 5;

/** A netlink socket's descriptor, made inside the namespace at `nsPath`; a NetlinkError naming it if not. */
export function openNetlinkFd(nsPath: string | undefined, protocol: NetlinkProtocol): number {
  const fd = nativeNetlink().openNetlink(nsPath, protocolNumbers[protocol]);
  if (fd >= 0) return fd;
  // setns answers EINVAL for a file that is not a network namespace.
  const what = nsPath === undefined ? 'open netlink socket' : `open netlink socket in network namespace ${nsPath}`;
  throw new NetlinkError(what, -fd, -fd === 22 && nsPath !== undefined ? 'not a network namespace' : undefined);
}

export class NetlinkSocket {
  private fd: number;
  private seq = 0;

  private constructor(
    fd: number,
    /** The namespace path the socket was made in; undefined for the caller's own. */
    readonly namespace: string | undefined,
  ) {
    this.fd = fd;
  }

  /** Opens a socket inside the namespace at `nsPath` (a /run/netns or /proc/PID/ns/net path). */
  static open(nsPath?: string, protocol: NetlinkProtocol = 'route'): NetlinkSocket {
    return new NetlinkSocket(openNetlinkFd(nsPath, protocol), nsPath);
  }

  get closed(): boolean {
    return this.fd < 0;
  }

  /** Sends one request (a dump or an acknowledged change) and returns the reply messages. */
  request(request: Request): Message[] {
    const native = nativeNetlink();
    for (let attempt = 1; ; attempt++) {
      setSequence(request.message, this.nextSequence());
      const reply = native.request(this.liveFd(), request.message);
      if (reply.error !== 0) throw new NetlinkError(this.describe(request.operation()), reply.error, reply.extack);
      if (!reply.interrupted || attempt === dumpAttempts) return splitMessages(reply.data);
    }
  }

  /** Sends many acknowledged changes without a round trip each; throws if any failed (the rest still apply). */
  batch(requests: readonly Request[]): void {
    if (requests.length === 0) return;
    // Sequence numbers must be consecutive inside one batch: restart them rather than wrap midway.
    if (this.seq + requests.length > 0xffffffff) this.seq = 0;
    for (const r of requests) setSequence(r.message, this.nextSequence());
    const failures = nativeNetlink().batch(this.liveFd(), Buffer.concat(requests.map((r) => r.message)));
    if (failures.length === 0) return;
    throw new NetlinkBatchError(
      failures.map((f) => ({ index: f.index, error: new NetlinkError(this.describe(requests[f.index]!.operation()), f.error, f.extack) })),
      requests.length,
    );
  }

  /**
   * Sends an nfnetlink batch as one kernel transaction: `requests` must start with a batch begin and
   * end with a batch end message. Applied whole or not at all; throws the failures if not.
   */
  transaction(requests: readonly Request[]): void {
    if (this.seq + requests.length > 0xffffffff) this.seq = 0;
    for (const r of requests) setSequence(r.message, this.nextSequence());
    const failures = nativeNetlink().transaction(this.liveFd(), Buffer.concat(requests.map((r) => r.message)));
    if (failures.length === 0) return;
    throw new NetlinkBatchError(
      failures.map((f) => ({ index: f.index, error: new NetlinkError(this.describe((requests[f.index] ?? requests[0]!).operation()), f.error, f.extack) })),
      requests.length,
    );
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }

  /** `operation`, naming the namespace when it is not the caller's own. */
  describe(operation: string): string {
    return this.namespace === undefined ? operation : `${operation} in ${this.namespace}`;
  }

  private nextSequence(): number {
    this.seq = this.seq >= 0xffffffff ? 1 : this.seq + 1;
    return this.seq;
  }

  private liveFd(): number {
    if (this.fd < 0) throw new Error('netlink handle is closed');
    return this.fd;
  }
}
