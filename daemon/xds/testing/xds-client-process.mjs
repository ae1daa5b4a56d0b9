// A proxyless gRPC client in its own process: @grpc/grpc-js-xds resolves `xds:///<service>` (argv[2]) with
// the bootstrap in GRPC_XDS_BOOTSTRAP_CONFIG, which it reads once, at registration; hence one process per
// client. The parent drives it over IPC:
//   { id, cmd: 'calls', count }  -> { id, results: [backend name or "error <code>", ...] }
//   { id, cmd: 'watch' }         -> { id, results: [] }, then calls back to back until
//   { id, cmd: 'stop' }          -> { id, results: [what those calls returned, ...] }
// Calls go to /weft.test.Backend/Who, which each test backend answers with its own name.
// Plain JavaScript: the parent's TypeScript runs under vitest; a child Node process cannot load .ts files.
import grpc from '@grpc/grpc-js';
import xds from '@grpc/grpc-js-xds';

xds.register();
const service = process.argv[2];
const client = new grpc.Client(`xds:///${service}`, grpc.credentials.createInsecure());
const text = { serialize: (s) => Buffer.from(s), deserialize: (b) => b.toString() };

function call() {
  return new Promise((resolve) => {
    client.makeUnaryRequest('/weft.test.Backend/Who', text.serialize, text.deserialize, 'who',
      { deadline: Date.now() + 5_000 }, (err, who) => resolve(err ? `error ${err.code}` : who));
  });
}

let watching;

async function run(message) {
  if (message.cmd === 'calls') {
    const results = [];
    for (let i = 0; i < message.count; i++) results.push(await call());
    return results;
  }
  if (message.cmd === 'watch') {
    if (watching) throw new Error('already watching');
    const current = { results: [], stopped: false };
    current.done = (async () => {
      while (!current.stopped) current.results.push(await call());
    })();
    watching = current;
    return [];
  }
  if (message.cmd === 'stop') {
    if (!watching) throw new Error('not watching');
    const current = watching;
    watching = undefined;
    current.stopped = true;
    await current.done;
    return current.results;
  }
  throw new Error(`unknown command ${message.cmd}`);
}

process.on('message', (message) => {
  run(message).then(
    (results) => process.send({ id: message.id, results }),
    (err) => process.send({ id: message.id, error: String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
