// Errors as typed values carrying the CNI spec's codes (SPEC.md "Error" section).
// A runtime decides what to do next from the code, so every failure names the precise one.

export const ErrorCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  // Not in SPEC.md's table; the reference's code for a CNI_NETNS that is the plugin's own namespace.
  InvalidNetns: 8,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  PluginNotAvailableLimitedConnectivity: 51,
  // 100+ are weft's own.
  KernelFailure: 100,
  AddressUnavailable: 101,
  DuplicateAllocation: 102,
  FirewallFailure: 103,
  DelegateFailure: 104,
  Internal: 199,
} as const;

/** The spec's error object, as printed on stdout. */
export interface CniErrorJson {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

export class CniError extends Error {
  override readonly name = 'CniError';
  constructor(
    readonly code: number,
    readonly msg: string,
    readonly details?: string,
    options?: { cause?: unknown },
  ) {
    super(details ? `${msg}: ${details}` : msg, options);
  }

  toJson(cniVersion: string): CniErrorJson {
    const json: CniErrorJson = { cniVersion, code: this.code, msg: this.msg };
    if (this.details) json.details = this.details;
    return json;
  }
}

/** Wraps anything thrown into a CniError, keeping a CniError as it is. */
export function toCniError(err: unknown, fallbackCode: number = ErrorCode.Internal): CniError {
  if (err instanceof CniError) return err;
  if (err instanceof Error) return new CniError(fallbackCode, err.message, undefined, { cause: err });
  return new CniError(fallbackCode, String(err));
}
