// An esbuild plugin for weftd's bundle (build-plugins/ holds build.mjs's plugins). The etcd3 client reads its .proto files from beside its own module
// when it loads (`loadSync(`${__dirname}/../proto/rpc.proto`)`); in a one-file bundle they are not there,
// and the etcd store fails with ENOENT. The plugin compiles those files to a protobuf JSON descriptor at
// build time and makes the client load that instead (proto-loader's `fromJSON`, same options).
//
//   import { etcd3Protos } from './build-plugins/etcd3-protos.mjs';
//   await build({ ..., plugins: [etcd3Protos()] });
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const loadCall = /\(0, proto_loader_1\.loadSync\)\(`\$\{__dirname\}\/\.\.\/proto\/rpc\.proto`,/;

export function etcd3Protos() {
  const require = createRequire(import.meta.url);
  const poolModule = require.resolve('etcd3/lib/connection-pool.js');
  // The protobufjs that etcd3's own proto-loader uses, so that the descriptor matches what it expects.
  const protoLoader = createRequire(poolModule).resolve('@grpc/proto-loader');
  const protobuf = createRequire(protoLoader)('protobufjs');
  return {
    name: 'etcd3-protos',
    setup(build) {
      build.onLoad({ filter: /etcd3[\\/]lib[\\/]connection-pool\.js$/ }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        if (!loadCall.test(source)) throw new Error(`${args.path}: etcd3 no longer loads proto/rpc.proto the way this plugin expects`);
        const root = new protobuf.Root();
        // keepCase as etcd3 asks of proto-loader: field names stay as in the .proto files.
        root.loadSync(join(dirname(args.path), '../proto/rpc.proto'), { keepCase: true });
        const descriptor = JSON.stringify(root.toJSON());
        return { contents: source.replace(loadCall, `(0, proto_loader_1.fromJSON)(${descriptor},`), loader: 'js', resolveDir: dirname(args.path) };
      });
    },
  };
}
