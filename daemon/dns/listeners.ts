// The DNS server's sockets: UDP and TCP on port 53 of each overlay gateway address of this node, and on no
// other address: the underlay never sees a DNS server, so weftd is not an open resolver. The gateway
// addresses belong to the bridge, which the first container's ADD makes; until then (and while an IPv6
// address is still tentative) binding fails, and `bindMissing` is called again on every address change the
// kernel announces. Clients outside the overlay networks are not answered either, should a route bring
// their queries to a gateway address.
//
// TCP (RFC 7766): messages with a two-byte length, several per connection, each answered as it completes;
// an idle connection is closed after 10 s, and at most 128 are open at once.
import { createSocket, type Socket } from 'node:dgram';
import { createServer, isIPv6, type Server, type Socket as TcpSocket } from 'node:net';
import type { Logger } from '../log.ts';
import type { DnsStats } from './dns-stats.ts';
import type { Transport } from './responder.ts';

export interface ListenerOptions {
  readonly respond: (message: Buffer, transport: Transport) => Promise<Buffer | undefined>;
  /** Whether a client at `address` is answered. */
  readonly allowed: (address: string) => boolean;
  readonly port: number;
  readonly log: Logger;
  readonly stats: DnsStats;
}

interface Bound {
  readonly udp: Socket;
  readonly tcp: Server;
}

const idleMs = 10_000;
const maxTcpConnections = 128;

function bindUdp(address: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIPv6(address) ? 'udp6' : 'udp4');
    socket.once('error', reject);
    socket.bind({ address, port, exclusive: true }, () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

function listenTcp(server: Server, address: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export class DnsListeners {
  private desired: readonly string[] = [];
  private readonly bound = new Map<string, Bound>();
  private binding: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: ListenerOptions) {}

  /** The addresses to serve on; those no longer wanted are closed, new ones bound by `bindMissing`. */
  setAddresses(addresses: readonly string[]): void {
    this.desired = addresses;
    for (const [address, bound] of [...this.bound]) {
      if (addresses.includes(address)) continue;
      this.bound.delete(address);
      bound.udp.close();
      bound.tcp.close();
    }
  }

  /** Addresses wanted but not bound yet. */
  get unbound(): string[] {
    return this.desired.filter((a) => !this.bound.has(a));
  }

  get listening(): string[] {
    return [...this.bound.keys()];
  }

  /** Binds every wanted address that is not yet; one run at a time, failures left for the next call. */
  bindMissing(): Promise<void> {
    this.binding ??= this.bindAll().finally(() => {
      this.binding = undefined;
    });
    return this.binding;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.binding;
    this.setAddresses([]);
  }

  private async bindAll(): Promise<void> {
    for (const address of this.unbound) {
      if (this.closed) return;
      try {
        const bound = await this.bind(address);
        if (this.closed || !this.desired.includes(address)) {
          bound.udp.close();
          bound.tcp.close();
          continue;
        }
        this.bound.set(address, bound);
        this.options.log.info('answering DNS', { address, port: this.options.port });
      } catch (err) {
        // EADDRNOTAVAIL until the bridge has the address: expected, and retried on the next address change.
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EADDRNOTAVAIL') this.options.log.warn('cannot answer DNS on a gateway address yet', { address, error: err });
      }
    }
  }

  private async bind(address: string): Promise<Bound> {
    const { port } = this.options;
    const udp = await bindUdp(address, port);
    // Half-open: a client may send its last question and close its side before the answer is ready.
    const tcp = createServer({ allowHalfOpen: true }, (connection) => this.serveTcp(connection));
    tcp.maxConnections = maxTcpConnections;
    try {
      await listenTcp(tcp, address, port);
    } catch (err) {
      udp.close();
      throw err;
    }
    udp.on('message', (message, peer) => this.serveUdp(udp, message, peer.address, peer.port));
    udp.on('error', (err) => this.options.log.warn('DNS UDP socket error', { address, error: err }));
    tcp.on('error', (err) => this.options.log.warn('DNS TCP server error', { address, error: err }));
    return { udp, tcp };
  }

  private serveUdp(socket: Socket, message: Buffer, address: string, port: number): void {
    if (!this.options.allowed(address)) {
      this.options.stats.dropped++;
      return;
    }
    void this.options.respond(message, 'udp').then((answer) => {
      if (answer) socket.send(answer, port, address);
    });
  }

  private serveTcp(connection: TcpSocket): void {
    if (!this.options.allowed(connection.remoteAddress ?? '')) {
      this.options.stats.dropped++;
      connection.destroy();
      return;
    }
    connection.setTimeout(idleMs, () => connection.destroy());
    connection.on('error', () => connection.destroy());
    let pending = Buffer.alloc(0);
    let answering = 0;
    let ended = false;
    const endIfDone = () => {
      if (ended && answering === 0) connection.end();
    };
    connection.on('end', () => {
      ended = true;
      endIfDone();
    });
    connection.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const message = Buffer.from(pending.subarray(2, 2 + pending.readUInt16BE(0)));
        pending = pending.subarray(2 + message.length);
        answering++;
        void this.options.respond(message, 'tcp').then((answer) => {
          answering--;
          if (connection.destroyed) return;
          if (answer) {
            const length = Buffer.alloc(2);
            length.writeUInt16BE(answer.length);
            connection.write(Buffer.concat([length, answer]));
          }
          endIfDone();
        });
      }
    });
  }
}
