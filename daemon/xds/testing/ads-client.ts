// A bare ADS client over grpc-js for protocol tests and the push benchmark: opens streams, sends requests
// as given and queues responses. It applies no protocol logic of its own; tests write the requests.
import { Client, credentials, type ChannelOptions, type ClientDuplexStream, type StatusObject } from '@grpc/grpc-js';
import { adsServiceName, XdsCodec, type MessageCodec } from '../codec.ts';
import type {
  DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse,
} from '../discovery-messages.ts';

export class AdsStream<Request, Response> {
  private readonly queue: Response[] = [];
  private waiter: (() => void) | undefined;
  /** Resolves with the stream's final status. */
  readonly closed: Promise<StatusObject>;

  constructor(private readonly call: ClientDuplexStream<Request, Response>, onResponse?: (response: Response) => void) {
    call.on('data', (response: Response) => {
      onResponse?.(response);
      this.queue.push(response);
      this.waiter?.();
    });
    this.closed = new Promise((resolve) => call.on('status', resolve));
    call.on('error', () => {});
  }

  send(request: Request): void {
    this.call.write(request);
  }

  /** The next response, failing after `timeoutMs`. */
  async next(timeoutMs = 5_000): Promise<Response> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no response within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
    return this.queue.shift()!;
  }

  /** Whether a response arrives within `ms` (consuming it if so). */
  async quietFor(ms: number): Promise<boolean> {
    try {
      await this.next(ms);
      return false;
    } catch {
      return true;
    }
  }

  /** Stops reading, as a slow client does: flow control then holds the server's writes back. */
  pause(): void {
    this.call.pause();
  }

  resume(): void {
    this.call.resume();
  }

  end(): void {
    this.call.end();
  }
}

export class AdsClient {
  private readonly client: Client;

  /** `ownConnection` gives this client a connection of its own rather than sharing one per address. */
  constructor(address: string, private readonly codec: XdsCodec = new XdsCodec(), ownConnection = false) {
    const options: ChannelOptions = ownConnection ? { 'grpc.use_local_subchannel_pool': 1 } : {};
    this.client = new Client(address, credentials.createInsecure(), options);
  }

  sotw(onResponse?: (r: DiscoveryResponse) => void): AdsStream<DiscoveryRequest, DiscoveryResponse> {
    return this.open('StreamAggregatedResources', this.codec.discoveryRequest, this.codec.discoveryResponse, onResponse);
  }

  delta(onResponse?: (r: DeltaDiscoveryResponse) => void): AdsStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> {
    return this.open('DeltaAggregatedResources', this.codec.deltaRequest, this.codec.deltaResponse, onResponse);
  }

  close(): void {
    this.client.close();
  }

  private open<Req, Res>(method: string, request: MessageCodec<Req>, response: MessageCodec<Res>,
    onResponse?: (r: Res) => void): AdsStream<Req, Res> {
    const call = this.client.makeBidiStreamRequest(`/${adsServiceName}/${method}`, request.encode, response.decode);
    return new AdsStream(call, onResponse);
  }
}
