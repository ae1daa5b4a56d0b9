// Why a frame could not be decoded (or encoded): the layer that failed and what was wrong with it.

export type FrameLayer = 'ethernet' | 'arp' | 'ipv4' | 'ipv6' | 'udp' | 'vxlan' | 'pcap';

export class FrameError extends Error {
  override readonly name = 'FrameError';
  constructor(
    readonly layer: FrameLayer,
    readonly problem: string,
  ) {
    super(`${layer}: ${problem}`);
  }
}

/** Throws unless `bytes` holds at least `needed` bytes from `offset`. */
export function need(layer: FrameLayer, bytes: Uint8Array, needed: number, what: string): void {
  if (bytes.length < needed) throw new FrameError(layer, `${what} needs ${needed} bytes, got ${bytes.length}`);
}

/** A DataView over exactly `bytes` (which may be a view into a larger buffer). */
export function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
