// Small gRPC servers on loopback standing in for a service's containers: each answers
// /weft.test.Backend/Who with its own name. Bytes are the name's text; no protobuf needed.
import { Server, ServerCredentials, type ServiceDefinition, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';

const backendService: ServiceDefinition = {
  Who: {
    path: '/weft.test.Backend/Who',
    requestStream: false,
    responseStream: false,
    requestSerialize: (s: string) => Buffer.from(s),
    requestDeserialize: (b: Buffer) => b.toString(),
    responseSerialize: (s: string) => Buffer.from(s),
    responseDeserialize: (b: Buffer) => b.toString(),
  },
};

export interface Backend {
  readonly name: string;
  readonly port: number;
  stop(): Promise<void>;
}

export async function startBackend(name: string): Promise<Backend> {
  const server = new Server();
  server.addService(backendService, {
    Who: (_call: ServerUnaryCall<string, string>, callback: sendUnaryData<string>) => callback(null, name),
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
  return {
    name,
    port,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())).then(() => server.forceShutdown()),
  };
}
