// Whether weftd may run a caller's plugin call: only where it acts on the same host and the same files as
// the plugin process would. The plugin's host is the network namespace it was started in; its files are
// the paths it sees (/var/lib/cni, a dataDir, CNI_NETNS, /run/weft/subnet.env) — through its root, its mount
// namespace, its working directory, and for /proc/<pid>/ns/net its pid namespace. The caller is the launcher process on the other
// end of the socket; SO_PEERCRED gives its pid, /proc/<pid> the rest.
//
// A mount namespace of its own is not in itself a difference: `ip netns exec` gives every process one
// (a copy of the host's mounts with /sys remounted for the network namespace), so a weftd and a runtime
// both started that way in one network namespace have two mount namespaces with the same mounts. What
// decides is the mount table: the same filesystems at the same places, with the same options. A container
// with its own /var/lib/cni, a chroot, a systemd PrivateTmp: another table, declined.
import { readFileSync, statSync } from 'node:fs';

/** The namespaces that change what a plugin acts on; the user namespace changes what root may do. */
const namespaces = ['net', 'pid', 'user'] as const;

/**
 * Reads of the two tables before a difference counts: a mount made or removed elsewhere (`ip netns add`
 * binds /run/netns/NAME) reaches each copy of the namespace on its own, so two reads may briefly differ.
 */
const mountReads = 3;

function nsInode(pid: number | 'self', kind: string): bigint {
  return statSync(`/proc/${pid}/ns/${kind}`, { bigint: true }).ino;
}

/**
 * The mount table as comparable lines: each mount's mount point, device, root within it, options,
 * filesystem type, source and superblock options. Dropped: mount and parent IDs (new in every copy of a
 * namespace) and propagation tags (`ip netns exec` makes its copy a slave: `master:N`). Ordered by mount
 * point, mounts on one point in the order they were stacked: two copies list the same mounts in another
 * order when one remounted /sys before mounts propagated into it and the other after.
 */
export function mountTable(mountinfo: string): string[] {
  const table: Array<{ point: string; line: string }> = [];
  for (const line of mountinfo.split('\n')) {
    if (line === '') continue;
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    if (separator < 0) throw new Error(`unreadable mountinfo line: ${line}`);
    const point = fields[4]!;
    table.push({ point, line: [point, ...fields.slice(2, 4), fields[5], ...fields.slice(separator + 1)].join(' ') });
  }
  // Array.prototype.sort is stable: mounts stacked on one point keep their order.
  return table.sort((a, b) => (a.point < b.point ? -1 : a.point > b.point ? 1 : 0)).map((entry) => entry.line);
}

/** The first difference between two mount tables, for the log; undefined when they are the same. */
export function mountDifference(own: readonly string[], peer: readonly string[]): string | undefined {
  for (let i = 0; i < Math.max(own.length, peer.length); i++) {
    if (own[i] !== peer[i]) return `mount ${i}: weftd has ${JSON.stringify(own[i] ?? 'none')}, the caller ${JSON.stringify(peer[i] ?? 'none')}`;
  }
  return undefined;
}

function sameFile(a: string, b: string): boolean {
  const x = statSync(a, { bigint: true });
  const y = statSync(b, { bigint: true });
  return x.dev === y.dev && x.ino === y.ino;
}

/**
 * Why weftd must not serve the process `pid` (a sentence for the log), or undefined when it may.
 * Anything unreadable about the peer is a reason too: a call is never served on a guess.
 */
export function viewDifference(pid: number): string | undefined {
  try {
    for (const kind of namespaces) {
      if (nsInode(pid, kind) !== nsInode('self', kind)) return `the caller is in another ${kind} namespace`;
    }
    if (!sameFile(`/proc/${pid}/root`, '/proc/self/root')) return 'the caller has another root directory';
    // A relative path in a config (a dataDir) means what it means from the caller's working directory.
    if (!sameFile(`/proc/${pid}/cwd`, '/proc/self/cwd')) return 'the caller has another working directory';
    if (nsInode(pid, 'mnt') === nsInode('self', 'mnt')) return undefined;
    let difference: string | undefined;
    for (let attempt = 0; attempt < mountReads; attempt++) {
      difference = mountDifference(
        mountTable(readFileSync('/proc/self/mountinfo', 'utf8')),
        mountTable(readFileSync(`/proc/${pid}/mountinfo`, 'utf8')),
      );
      if (difference === undefined) return undefined;
    }
    return `the caller sees other mounts (${difference})`;
  } catch (err) {
    return `the caller's namespaces cannot be read: ${(err as Error).message}`;
  }
}
