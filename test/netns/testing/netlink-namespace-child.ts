// Run as its own process by netlink-namespace.test.ts (bundled with esbuild as CommonJS, which loads
// without touching libuv's pool): works in the namespace at
// argv[2] before libuv's thread pool exists, including requests that fail halfway, then starts the pool
// and prints the namespace of the process, of every thread and of a pool thread, as JSON.
import { promises, readdirSync, readlinkSync } from 'node:fs';
import { Netlink, sysctlGet, sysctlSet } from '../../../lib/netlink/index.ts';

const nsPath = process.argv[2]!;

function namespaces(): { process: string; threads: string[] } {
  return {
    process: readlinkSync('/proc/self/ns/net'),
    threads: readdirSync('/proc/self/task').map((tid) => readlinkSync(`/proc/self/task/${tid}/ns/net`)),
  };
}

function attempt(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return (err as Error).message;
  }
}

async function main(): Promise<void> {
  const before = namespaces();
  const outcomes = [
    attempt(() => {
      const nl = Netlink.open(nsPath);
      try {
        nl.linkAdd({ kind: 'bridge', name: 'childbr0' });
        nl.linkAdd({ kind: 'bridge', name: 'childbr0' }); // fails: exists
      } finally {
        nl.close();
      }
    }),
    attempt(() => Netlink.open('/nonexistent/netns')),
    attempt(() => sysctlSet(nsPath, 'net/ipv4/ip_forward', 'not-a-number')),
    attempt(() => sysctlGet(nsPath, 'net/ipv4/no_such_key')),
  ];
  const afterWork = namespaces();
  // The first async fs calls of the process: libuv starts its pool now, after all the switching.
  await Promise.all(Array.from({ length: 8 }, () => promises.stat('/')));
  // readlink runs on a pool thread, and /proc/thread-self is that thread: its own namespace.
  const poolThread = await promises.readlink('/proc/thread-self/ns/net');
  process.stdout.write(JSON.stringify({ before, afterWork, afterPool: namespaces(), poolThread, outcomes }));
}

void main();
