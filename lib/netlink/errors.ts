// Kernel failures as typed values: the errno, what it means for the caller (`kind`), the operation
// that failed and the kernel's own explanation (extended ack). Plugins surface them as CNI code 100:
// `toCniError(err, ErrorCode.KernelFailure)` keeps this message whole.
import { getSystemErrorMap } from 'node:util';

/** What a failure means for the caller; `exists` and `notFound` are often success in disguise. */
export type NetlinkErrorKind = 'exists' | 'notFound' | 'busy' | 'permission' | 'invalid' | 'unsupported' | 'other';

const kinds: Record<string, NetlinkErrorKind> = {
  EEXIST: 'exists',
  ENOENT: 'notFound',
  ENODEV: 'notFound',
  ENXIO: 'notFound',
  ESRCH: 'notFound', // route delete: no such route
  EADDRNOTAVAIL: 'notFound', // address delete: no such address
  EBUSY: 'busy',
  EAGAIN: 'busy',
  EPERM: 'permission',
  EACCES: 'permission',
  EINVAL: 'invalid',
  ERANGE: 'invalid',
  E2BIG: 'invalid',
  ENAMETOOLONG: 'invalid',
  ENETUNREACH: 'invalid', // route via a gateway no route reaches
  EOPNOTSUPP: 'unsupported',
  ENOTSUP: 'unsupported', // libuv's name for EOPNOTSUPP (the same number on Linux)
  EAFNOSUPPORT: 'unsupported',
  EPROTONOSUPPORT: 'unsupported',
};

function describeErrno(errno: number): { code: string; text: string } {
  const entry = getSystemErrorMap().get(-errno);
  return entry ? { code: entry[0], text: entry[1] } : { code: `errno ${errno}`, text: 'unknown error' };
}

export class NetlinkError extends Error {
  override readonly name = 'NetlinkError';
  /** The errno name, e.g. `EEXIST`. */
  readonly code: string;
  readonly kind: NetlinkErrorKind;

  constructor(
    /** What was attempted, e.g. `add link veth1 (veth) in /run/netns/c1`. */
    readonly operation: string,
    /** Positive errno. */
    readonly errno: number,
    /** The kernel's explanation, when it gave one. */
    readonly extack?: string,
    options?: { cause?: unknown },
  ) {
    const { code, text } = describeErrno(errno);
    super(`${operation}: ${text} (${code})${extack ? `: ${extack}` : ''}`, options);
    this.code = code;
    this.kind = kinds[code] ?? 'other';
  }
}

/** Many requests failed in one batch; each failure carries its request's position. */
export class NetlinkBatchError extends Error {
  override readonly name = 'NetlinkBatchError';

  constructor(
    readonly failures: ReadonlyArray<{ readonly index: number; readonly error: NetlinkError }>,
    readonly total: number,
  ) {
    const first = failures[0]?.error.message ?? '';
    const more = failures.length > 1 ? ` (and ${failures.length - 1} more)` : '';
    super(`${failures.length} of ${total} netlink requests failed: ${first}${more}`);
  }
}

export function isNetlinkError(err: unknown, kind?: NetlinkErrorKind): err is NetlinkError {
  return err instanceof NetlinkError && (kind === undefined || err.kind === kind);
}

/** Runs `fn`; "already exists" counts as done (returns undefined). */
export function ignoreExists<T>(fn: () => T): T | undefined {
  return ignoreKind('exists', fn);
}

/** Runs `fn`; "not found / already gone" counts as done (returns undefined). */
export function ignoreNotFound<T>(fn: () => T): T | undefined {
  return ignoreKind('notFound', fn);
}

function ignoreKind<T>(kind: NetlinkErrorKind, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (isNetlinkError(err, kind)) return undefined;
    throw err;
  }
}

/** Converts a Node system error (from fs) into a NetlinkError for `operation`. */
export function fromSystemError(operation: string, err: unknown): unknown {
  const errno = (err as { errno?: unknown }).errno;
  return typeof errno === 'number' ? new NetlinkError(operation, Math.abs(errno), undefined, { cause: err }) : err;
}
