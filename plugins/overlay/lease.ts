// This node's lease as the overlay plugin reads it from weftd's subnet.env. The file is weftd's, not the
// user's: one that is missing, or unusable (unreadable content, or a subnet with no address left for a
// container), is answered with the verb's code for "not yet" (ADD 11, try again later; STATUS 50, not
// available) and says so, never as an invalid network config about fields the user never wrote.
import { readSubnetEnv, type SubnetEnv } from '../../lib/weftd-api/subnet-env.ts';
import { CniError, ErrorCode } from '../../lib/cni/errors.ts';
import { UnreadableFileError } from '../../lib/files/bounded-read.ts';
import { formatCidr, type IpNet } from '../../lib/ip/cidr.ts';

function unusable(code: number, details: string, cause?: unknown): CniError {
  return new CniError(code, "weftd's subnet lease is unusable", details, { cause });
}

// host-local sets the network address and the gateway aside: a /31 or /32 (/127, /128) leaves none.
function leavesNoAddress(subnet: IpNet): boolean {
  return subnet.prefix > (subnet.address.family === 4 ? 32 : 128) - 2;
}

export async function readLease(path: string, unavailable: number): Promise<SubnetEnv> {
  let lease: SubnetEnv | undefined;
  try {
    lease = await readSubnetEnv(path);
  } catch (err) {
    // readSubnetEnv throws TypeError for content it cannot read; anything else is the file system's.
    if (err instanceof TypeError) throw unusable(unavailable, err.message, err);
    // Not a file weftd writes (a device, a FIFO, something huge): the config's subnetFile is wrong.
    if (err instanceof UnreadableFileError) throw new CniError(ErrorCode.InvalidNetworkConfig, 'invalid subnetFile', err.message, { cause: err });
    throw new CniError(ErrorCode.IoFailure, `failed to read weftd's lease from ${path}`, (err as Error).message, { cause: err });
  }
  if (!lease) throw new CniError(unavailable, 'weftd has not written a subnet lease yet: try again later', `no file ${path}`);
  for (const [key, subnet] of [['WEFT_SUBNET', lease.subnet], ['WEFT_IPV6_SUBNET', lease.ipv6Subnet]] as const) {
    if (subnet && leavesNoAddress(subnet)) throw unusable(unavailable, `${path}: ${key} ${formatCidr(subnet)} leaves no address for a container`);
  }
  return lease;
}
