// Encoding and decoding through the loaded Envoy descriptor: resources to bytes (once per change, shared by
// every stream), transport messages for gRPC, and the ADS service definition grpc-js serves.
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import type {
  DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse,
} from './discovery-messages.ts';
import { messageName } from './resource-types.ts';
import { xdsProtoRoot } from './protos.ts';

export interface MessageCodec<T> {
  encode(message: T): Buffer;
  decode(bytes: Uint8Array): T;
}

function messageCodec<T>(type: protobuf.Type): MessageCodec<T> {
  return {
    encode: (message) => Buffer.from(type.encode(type.fromObject(message as object)).finish()),
    decode: (bytes) => type.decode(bytes) as unknown as T,
  };
}

const discovery = 'envoy.service.discovery.v3';
export const adsServiceName = `${discovery}.AggregatedDiscoveryService`;

export class XdsCodec {
  readonly discoveryRequest: MessageCodec<DiscoveryRequest>;
  readonly discoveryResponse: MessageCodec<DiscoveryResponse>;
  readonly deltaRequest: MessageCodec<DeltaDiscoveryRequest>;
  readonly deltaResponse: MessageCodec<DeltaDiscoveryResponse>;

  constructor(readonly root: protobuf.Root = xdsProtoRoot()) {
    this.discoveryRequest = messageCodec(root.lookupType(`${discovery}.DiscoveryRequest`));
    this.discoveryResponse = messageCodec(root.lookupType(`${discovery}.DiscoveryResponse`));
    this.deltaRequest = messageCodec(root.lookupType(`${discovery}.DeltaDiscoveryRequest`));
    this.deltaResponse = messageCodec(root.lookupType(`${discovery}.DeltaDiscoveryResponse`));
  }

  /** A resource in its JSON-like form (see envoy-resources.ts) to bytes; throws on a field of the wrong type. */
  encodeResource(typeUrl: string, resource: object): Uint8Array {
    const type = this.root.lookupType(messageName(typeUrl));
    return type.encode(type.fromObject(resource)).finish();
  }

  /** Bytes back to a plain object, `Any` fields unpacked with "@type": for tests and for showing resources. */
  decodeResource(typeUrl: string, bytes: Uint8Array): Record<string, unknown> {
    const type = this.root.lookupType(messageName(typeUrl));
    return type.toObject(type.decode(bytes), { json: true, enums: String, longs: Number, defaults: false });
  }

  /** The ADS service for grpc-js: its methods as the descriptor declares them, with these codecs. */
  adsService(): ServiceDefinition {
    const byMessage = new Map<string, MessageCodec<unknown>>([
      ['DiscoveryRequest', this.discoveryRequest], ['DiscoveryResponse', this.discoveryResponse],
      ['DeltaDiscoveryRequest', this.deltaRequest], ['DeltaDiscoveryResponse', this.deltaResponse],
    ] as [string, MessageCodec<unknown>][]);
    const definition: Record<string, MethodDefinition<unknown, unknown>> = {};
    for (const method of this.root.lookupService(adsServiceName).methodsArray) {
      const request = byMessage.get(method.resolvedRequestType!.name)!;
      const response = byMessage.get(method.resolvedResponseType!.name)!;
      definition[method.name] = {
        path: `/${adsServiceName}/${method.name}`,
        requestStream: Boolean(method.requestStream),
        responseStream: Boolean(method.responseStream),
        requestSerialize: (message) => request.encode(message),
        requestDeserialize: (bytes) => request.decode(bytes),
        responseSerialize: (message) => response.encode(message),
        responseDeserialize: (bytes) => response.decode(bytes),
        originalName: method.name,
      };
    }
    return definition;
  }
}
