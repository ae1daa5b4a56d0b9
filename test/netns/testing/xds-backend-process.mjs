// A gRPC server standing in for a service's container, started inside the container's namespace:
//   node xds-backend-process.mjs NAME PORT
// It listens on every address of that namespace (the container's overlay address is its only one besides
// loopback; it need not exist yet when the server starts) and answers /weft.test.Backend/Who with NAME.
// Writes "ready" to stderr once bound. Plain JavaScript: a child Node process cannot load .ts files.
import grpc from '@grpc/grpc-js';

const [name, port] = process.argv.slice(2);
const text = { serialize: (s) => Buffer.from(s), deserialize: (b) => b.toString() };
const server = new grpc.Server();
server.addService({
  Who: {
    path: '/weft.test.Backend/Who', requestStream: false, responseStream: false,
    requestSerialize: text.serialize, requestDeserialize: text.deserialize,
    responseSerialize: text.serialize, responseDeserialize: text.deserialize,
  },
}, { Who: (_call, callback) => callback(null, name) });
server.bindAsync(`0.0.0.0:${port}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) {
    process.stderr.write(`bind failed: ${err.message}\n`);
    process.exit(1);
  }
  process.stderr.write('ready\n');
});
process.on('SIGTERM', () => process.exit(0));
