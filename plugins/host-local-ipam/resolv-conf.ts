// ipam.resolvConf: a resolv.conf read into the result's `dns`, as the reference plugin reads it.
import { CniError, ErrorCode } from '../../lib/cni/errors.ts';
import { parseResolvConf } from '../../lib/cni/resolv-conf.ts';
import type { Dns } from '../../lib/cni/types.ts';
import { readBoundedFile, UnreadableFileError } from '../../lib/files/bounded-read.ts';

export function readResolvConf(path: string): Dns {
  let text: string;
  try {
    text = readBoundedFile(path);
  } catch (err) {
    if (err instanceof UnreadableFileError) throw new CniError(ErrorCode.InvalidNetworkConfig, 'invalid resolvConf', err.message, { cause: err });
    throw new CniError(ErrorCode.IoFailure, `failed to read resolvConf ${path}`, (err as Error).message, { cause: err });
  }
  return parseResolvConf(text);
}
