// Killing a plugin at an exact system call, as the OOM killer or a runtime's timeout does mid-call:
// `strace --inject=SYSCALL:signal=KILL:when=N` delivers SIGKILL as the call is entered, so the call is never
// made. A dry run under the same filter lists the calls it selects; each is one kill point. strace counts
// calls per thread, so a point is a call's number among its own thread's calls of that syscall: exact for
// the main thread, which makes a plugin's netlink and store calls.
import { readFileSync } from 'node:fs';

export interface SyscallFilter {
  /** strace's --trace set: names, or classes such as %file and %desc. */
  readonly syscalls: string;
  /** strace -P: only calls on these paths, or on descriptors open on them. */
  readonly paths?: readonly string[];
}

export interface KillPoint {
  readonly syscall: string;
  readonly nth: number;
  /** The call as the dry run showed it. */
  readonly call: string;
}

function filterArgs(filter: SyscallFilter): string[] {
  return ['-f', '-qq', `--trace=${filter.syscalls}`, ...(filter.paths ?? []).flatMap((path) => ['-P', path])];
}

/** The wrapper (put before the plugin) of a dry run that writes the calls the filter selects to `log`. */
export function traceInto(log: string, filter: SyscallFilter): string[] {
  return ['strace', '-o', log, ...filterArgs(filter)];
}

/** The wrapper that kills the plugin at `point`. */
export function killAt(point: KillPoint, filter: SyscallFilter): string[] {
  return ['strace', '-o', '/dev/null', ...filterArgs(filter), `--inject=${point.syscall}:signal=KILL:when=${point.nth}`];
}

/** The kill points of a dry run, in the order the calls were made. */
export function killPoints(log: string): KillPoint[] {
  const seen = new Map<string, number>();
  const points: KillPoint[] = [];
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    // "PID name(args) = result" or "PID name(args <unfinished ...>"; "<... name resumed>" continues one.
    const match = /^(\d+) +(\w+)\(/.exec(line);
    if (!match) continue;
    const [, tid, syscall] = match as unknown as [string, string, string];
    const key = `${tid} ${syscall}`;
    const nth = (seen.get(key) ?? 0) + 1;
    seen.set(key, nth);
    points.push({ syscall, nth, call: line.slice(tid.length).trim() });
  }
  return points;
}
