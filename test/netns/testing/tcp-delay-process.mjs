// A TCP relay that delays every chunk by a fixed time in each direction: a store far away, for tests of
// what a daemon does while its store is slow (no netem qdisc in this kernel). Started inside a test
// namespace:  node tcp-delay-process.mjs LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT DELAY_MS
// Writes "ready" to stderr once listening. Plain JavaScript: a child Node process cannot load .ts files.
import { connect, createServer } from 'node:net';

const [listenHost, listenPort, targetHost, targetPort, delayMs] = process.argv.slice(2);

/** Relays `from` to `to`, each chunk after the delay (equal delays keep the order). */
function relay(from, to) {
  from.on('data', (chunk) => setTimeout(() => to.writable && to.write(chunk), Number(delayMs)));
  from.on('end', () => setTimeout(() => to.end(), Number(delayMs)));
  from.on('error', () => to.destroy());
}

createServer((client) => {
  const target = connect(Number(targetPort), targetHost);
  relay(client, target);
  relay(target, client);
}).listen(Number(listenPort), listenHost, () => process.stderr.write('ready\n'));
