// Shared by the netlink kernel tests.
import { NetlinkError } from '../../../lib/netlink/index.ts';

/** The NetlinkError `fn` throws; fails the test if it throws nothing or something else. */
export function failureOf(fn: () => unknown): NetlinkError {
  try {
    fn();
  } catch (err) {
    if (err instanceof NetlinkError) return err;
    throw err;
  }
  throw new Error('expected a NetlinkError, but the call succeeded');
}
