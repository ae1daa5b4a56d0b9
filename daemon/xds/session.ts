// What every xDS stream shares, state of the world or incremental: the node from its first request, nonces
// unique to the stream, the counters the server reports and the report of a NACK.
import { randomBytes } from 'node:crypto';
import type { Node, RpcStatus } from './discovery-messages.ts';
import type { ChangeSet, ResourceCache } from './resource-cache.ts';
import { isTypeUrl, type TypeUrl } from './resource-types.ts';
import type { Subscription } from './subscription.ts';

/** Counters over all streams since the server started. */
export interface XdsStats {
  streams: number;
  responses: number;
  acks: number;
  nacks: number;
  /** Requests answering a response older than the stream's latest of that type: ignored. */
  staleRequests: number;
  /** Requests for a type this server does not serve: ignored. */
  unknownTypes: number;
}

export function emptyStats(): XdsStats {
  return { streams: 0, responses: 0, acks: 0, nacks: 0, staleRequests: 0, unknownTypes: 0 };
}

/** A client's rejection of a response: the client keeps what it had, and the server does not resend. */
export interface NackReport {
  readonly stream: string;
  readonly node: string;
  readonly typeUrl: TypeUrl;
  /** The version the NACKed response carried ('' when the nonce is not the stream's latest). */
  readonly rejectedVersion: string;
  readonly nonce: string;
  readonly code: number;
  readonly message: string;
}

/** One stream's view, for status pages and tests. */
export interface StreamStatus {
  readonly stream: string;
  readonly node: string;
  readonly types: readonly {
    readonly typeUrl: TypeUrl;
    readonly wildcard: boolean;
    readonly names: readonly string[];
    /** Version of the last response the client ACKed ('' before the first ACK). */
    readonly ackedVersion: string;
    readonly lastNack?: string;
  }[];
}

export interface SessionContext {
  readonly cache: ResourceCache;
  readonly stats: XdsStats;
  readonly onNack: (report: NackReport) => void;
  /** Names this server in responses (`control_plane.identifier`). */
  readonly identifier: string;
}

/** Per stream and type, in both variants. */
export interface TypeState {
  readonly subscription: Subscription;
  /** Nonce and version of the latest response of this type; nonce undefined before the first. */
  nonce?: string;
  version: string;
  /** Version of the last response the client ACKed. */
  ackedVersion: string;
  lastNack?: string;
}

export abstract class Session<Request extends { readonly node?: Node | null; readonly type_url: string }, State extends TypeState> {
  readonly id = randomBytes(6).toString('base64url');
  protected readonly types = new Map<TypeUrl, State>();
  private node: Node | undefined;
  private started = false;
  private nonces = 0;

  constructor(protected readonly context: SessionContext) {}

  /** The node from the stream's first request; later requests may leave it out. */
  get nodeId(): string {
    return this.node?.id ?? '';
  }

  /** Takes one request off the stream. */
  handle(request: Request): void {
    if (!this.started) {
      this.started = true;
      this.node = request.node ?? undefined;
    }
    if (!isTypeUrl(request.type_url)) {
      this.context.stats.unknownTypes++;
      return;
    }
    let state = this.types.get(request.type_url);
    const first = state === undefined;
    if (!state) {
      state = this.newState(request);
      this.types.set(request.type_url, state);
    }
    this.handleTyped(request.type_url, state, first, request);
  }

  /** Pushes whatever the stream's subscriptions see changed. */
  abstract resourcesChanged(changes: ChangeSet): void;

  status(): StreamStatus {
    return {
      stream: this.id,
      node: this.nodeId,
      types: [...this.types].map(([typeUrl, s]) => ({
        typeUrl, wildcard: s.subscription.isWildcard, names: [...s.subscription.names], ackedVersion: s.ackedVersion,
        ...(s.lastNack === undefined ? {} : { lastNack: s.lastNack }),
      })),
    };
  }

  protected abstract newState(first: Request): State;

  protected abstract handleTyped(typeUrl: TypeUrl, state: State, first: boolean, request: Request): void;

  /** Marks a response of the type sent: a new nonce (carrying the stream's id, so one from an earlier stream
   * never matches by accident) and the type's current version. */
  protected stamp(typeUrl: TypeUrl, state: State): { nonce: string; version: string } {
    this.nonces++;
    this.context.stats.responses++;
    state.nonce = `${this.id}-${this.nonces}`;
    state.version = this.context.cache.version(typeUrl);
    return { nonce: state.nonce, version: state.version };
  }

  protected recordAck(state: State, version: string): void {
    this.context.stats.acks++;
    state.ackedVersion = version;
    state.lastNack = undefined;
  }

  protected reportNack(typeUrl: TypeUrl, state: State, nonce: string, rejectedVersion: string, error: RpcStatus): void {
    state.lastNack = error.message;
    this.context.stats.nacks++;
    this.context.onNack({
      stream: this.id, node: this.nodeId, typeUrl, rejectedVersion, nonce, code: error.code, message: error.message,
    });
  }
}
