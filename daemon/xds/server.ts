// weftd's xDS server: Envoy's Aggregated Discovery Service over gRPC, state of the world
// (StreamAggregatedResources) and incremental (DeltaAggregatedResources), serving a ResourceCache.
// `createXdsServer` is what the daemon starts: the server fed from an endpoint source.
//
// ADS alone is served: gRPC clients speak nothing else, and Envoy uses it with one `ads_config` cluster.
// The per-type services (EDS/CDS/LDS/RDS on separate streams) would reuse the sessions unchanged.
import { Server, ServerCredentials, status, type ServerDuplexStream } from '@grpc/grpc-js';
import { XdsCodec } from './codec.ts';
import { DeltaSession } from './delta-session.ts';
import type { EndpointSource } from '../../lib/weftd-api/endpoint.ts';
import type { XdsLogger } from './logger.ts';
import { EndpointPublisher } from './publisher.ts';
import { ResourceCache, type ChangeSet } from './resource-cache.ts';
import type { TypeUrl } from './resource-types.ts';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse } from './discovery-messages.ts';
import { emptyStats, type NackReport, type SessionContext, type StreamStatus, type XdsStats } from './session.ts';
import { SotwSession } from './sotw-session.ts';
import { claimSocketPath } from '../files/unix-socket.ts';

export interface XdsServerOptions {
  /** Where to listen: "host:port" ("127.0.0.1:0" picks a free port) or "unix:/path". */
  readonly address: string;
  readonly cache: ResourceCache;
  readonly logger: XdsLogger;
  /** Called for every NACK, after it is logged and counted. */
  readonly onNack?: (report: NackReport) => void;
  /** Names this server in responses (`control_plane.identifier`). */
  readonly identifier?: string;
}

// Dead clients are found by keepalive pings rather than by the next write failing.
const serverOptions = {
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
};
const shutdownGraceMs = 2_000;

/** What the transport needs of a session, either variant. */
interface StreamSession<Request> {
  readonly id: string;
  readonly nodeId: string;
  handle(request: Request): void;
  resourcesChanged(changes: ChangeSet): void;
  status(): StreamStatus;
}

/** Whether a stream's client reads slower than changes come, and the changes held back meanwhile. */
interface Flow {
  congested: boolean;
  held: Map<TypeUrl, Set<string>>;
}

interface Stream {
  readonly session: Pick<StreamSession<never>, 'resourcesChanged' | 'status'>;
  readonly end: () => void;
  readonly flow: Flow;
}

function merge(into: Map<TypeUrl, Set<string>>, changes: ChangeSet): void {
  for (const [typeUrl, names] of changes) {
    const set = into.get(typeUrl) ?? new Set<string>();
    for (const name of names) set.add(name);
    into.set(typeUrl, set);
  }
}

export class XdsServer {
  private readonly server = new Server(serverOptions);
  private readonly streams = new Set<Stream>();
  private readonly counters = emptyStats();
  private readonly context: SessionContext;
  private stopCacheWatch: (() => void) | undefined;
  private boundAddress: string | undefined;

  constructor(private readonly options: XdsServerOptions, codec: XdsCodec = new XdsCodec()) {
    this.context = {
      cache: options.cache,
      stats: this.counters,
      identifier: options.identifier ?? 'weftd',
      onNack: (report) => {
        options.logger.warn('xds: client rejected a response; it keeps its previous version', { ...report });
        options.onNack?.(report);
      },
    };
    this.server.addService(codec.adsService(), {
      StreamAggregatedResources: (call: ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) =>
        this.serve(call, (send) => new SotwSession(this.context, send)),
      DeltaAggregatedResources: (call: ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>) =>
        this.serve(call, (send) => new DeltaSession(this.context, send)),
    });
  }

  /** Binds and serves; resolves to the bound address (with the port chosen when it was 0). */
  async start(): Promise<string> {
    const { address } = this.options;
    if (address.startsWith('unix:')) await claimSocketPath(address.slice('unix:'.length), 'the xDS socket');
    const port = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(this.options.address, ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
    });
    this.stopCacheWatch = this.options.cache.onChange((changes) => this.push(changes));
    this.boundAddress = this.options.address.startsWith('unix:') ? this.options.address : this.options.address.replace(/:0$/, `:${port}`);
    this.options.logger.info('xds: serving ADS', { address: this.boundAddress });
    return this.boundAddress;
  }

  /** Ends every stream (clients reconnect elsewhere or later) and closes the listener. */
  async stop(): Promise<void> {
    this.stopCacheWatch?.();
    this.stopCacheWatch = undefined;
    for (const stream of this.streams) stream.end();
    this.streams.clear();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, shutdownGraceMs);
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  get address(): string | undefined {
    return this.boundAddress;
  }

  /** Counters since start; `activeStreams` is the streams open now. */
  stats(): XdsStats & { activeStreams: number } {
    return { ...this.counters, activeStreams: this.streams.size };
  }

  /** What each connected client subscribes to and has ACKed. */
  clients(): StreamStatus[] {
    return [...this.streams].map((s) => s.session.status());
  }

  private serve<Request, Response>(call: ServerDuplexStream<Request, Response>,
    open: (send: (response: Response) => void) => StreamSession<Request>): void {
    const flow: Flow = { congested: false, held: new Map() };
    const session = open((response) => {
      if (!call.write(response)) flow.congested = true;
    });
    const entry: Stream = { session, end: () => call.end(), flow };
    this.streams.add(entry);
    this.counters.streams++;
    const close = (): void => {
      this.streams.delete(entry);
    };
    call.on('data', (request: Request) => {
      try {
        session.handle(request);
      } catch (err) {
        this.options.logger.warn('xds: stream failed', { stream: session.id, node: session.nodeId, error: String(err) });
        close();
        call.emit('error', { code: status.INTERNAL, details: `xds server error: ${String(err)}` });
      }
    });
    call.on('drain', () => {
      flow.congested = false;
      if (flow.held.size === 0) return;
      const held = flow.held;
      flow.held = new Map();
      session.resourcesChanged(held);
    });
    call.on('end', () => {
      close();
      call.end();
    });
    call.on('error', close);
    call.on('cancelled', close);
  }

  private push(changes: ChangeSet): void {
    for (const stream of this.streams) {
      // A stream behind on reading gets the latest state when it drains, not every step on the way.
      if (stream.flow.congested) merge(stream.flow.held, changes);
      else stream.session.resourcesChanged(changes);
    }
  }
}

export interface CreateXdsServerOptions {
  readonly address: string;
  /** The endpoints of all nodes. */
  readonly endpointSource: EndpointSource;
  readonly logger: XdsLogger;
  readonly onNack?: (report: NackReport) => void;
  readonly identifier?: string;
  /** Wait this long after an endpoint change for more before rebuilding (default 10 ms). */
  readonly coalesceMs?: number;
}

/** The xDS server weftd runs: serves the resources built from `endpointSource`, kept current. */
export function createXdsServer(options: CreateXdsServerOptions): XdsServerHandle {
  const codec = new XdsCodec();
  const cache = new ResourceCache(codec);
  const publisher = new EndpointPublisher(options.endpointSource, cache, options.logger, options.coalesceMs);
  const server = new XdsServer({ ...options, cache }, codec);
  return {
    async start() {
      publisher.start();
      try {
        return await server.start();
      } catch (err) {
        publisher.stop();
        throw err;
      }
    },
    async stop() {
      publisher.stop();
      await server.stop();
    },
    get address() {
      return server.address;
    },
    stats: () => server.stats(),
    clients: () => server.clients(),
    cache,
  };
}

export interface XdsServerHandle {
  /** Publishes the endpoints, binds and serves; resolves to the bound address. */
  start(): Promise<string>;
  stop(): Promise<void>;
  /** The bound address once started. */
  readonly address: string | undefined;
  stats(): XdsStats & { activeStreams: number };
  clients(): StreamStatus[];
  /** What is served, for status output. */
  readonly cache: ResourceCache;
}
