// One weftd per state directory: two would share a VTEP MAC and fight over one lease. flock(2) on a file
// there, taken without waiting and held until the process exits (the kernel releases it then, however the
// process ends), so a second daemon is refused at once with a message that says why.
import { constants, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { CniError, ErrorCode } from '../../lib/cni/errors.ts';
import { nativeNetlink } from '../../lib/netlink/addon.ts';

const EWOULDBLOCK = 11;

/** Takes the state directory's lock for the life of the process; throws when another process holds it. */
export function holdInstanceLock(stateDir: string): void {
  const path = join(stateDir, 'weftd.lock');
  let fd: number;
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o755 });
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
  } catch (err) {
    // The first thing weftd does in its state directory: a path that cannot be one is the config's mistake.
    throw new CniError(ErrorCode.InvalidNetworkConfig, `"stateDir" ${stateDir} cannot be used`, (err as Error).message, { cause: err });
  }
  const errno = nativeNetlink().flock(fd, true, false);
  if (errno === EWOULDBLOCK) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `another weftd is running with state directory ${stateDir}`,
      `${path} is locked: give each daemon its own "stateDir"`);
  }
  if (errno !== 0) throw new CniError(ErrorCode.IoFailure, `cannot lock ${path}`, `errno ${errno}`);
}
