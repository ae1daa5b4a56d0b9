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

/**
 * A response codec that encodes each `resources` array once however many responses carry it: protobuf reads
 * the concatenation of two encodings of a message type as their merge (repeated fields appended), so a
 * response is its own small fields encoded, followed by the shared encoding of its resources. The arrays
 * come from ResourceCache, one per content; a WeakMap lets each go with its last response.
 */
function sharedResourcesCodec<T extends { readonly resources: readonly object[] }>(type: protobuf.Type): MessageCodec<T> {
  const plain = messageCodec<T>(type);
  const encoded = new WeakMap<readonly object[], Buffer>();
  return {
    encode: (message) => {
      if (message.resources.length === 0) return plain.encode(message);
      let resources = encoded.get(message.resources);
      if (!resources) {
        resources = plain.encode({ resources: message.resources } as unknown as T);
        encoded.set(message.resources, resources);
      }
      return Buffer.concat([plain.encode({ ...message, resources: [] }), resources]);
    },
    decode: plain.decode,
  };
}

function messageCodec<T>(type: protobuf.Type): MessageCodec<T> {
  return {
    encode: (message) => {
      const bytes = type.encode(type.fromObject(message as object)).finish();
      // protobufjs writes into a Buffer on Node; copy only if it ever does not.
      return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
    },
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
    this.discoveryResponse = sharedResourcesCodec(root.lookupType(`${discovery}.DiscoveryResponse`));
    this.deltaRequest = messageCodec(root.lookupType(`${discovery}.DeltaDiscoveryRequest`));
    this.deltaResponse = sharedResourcesCodec(root.lookupType(`${discovery}.DeltaDiscoveryResponse`));
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
