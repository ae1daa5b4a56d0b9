// What overlay probes carry, and what their outcome means (pure).
//
// Three paths are probed to each peer, and every answer to an overlay probe comes back hand-encapsulated
// to this node's VTEP (never through the peer's routes), so each probe tests one more thing than the last:
//   underlay  plain UDP to the peer's underlay address: the underlay carries packets and the peer answers.
//   vtep      a VXLAN frame built here and sent straight to the peer's VTEP: both VTEPs decapsulate (the
//             VNI, port, MACs and addresses agree), with no route, neighbour or FDB entry involved.
//   kernel    UDP to the peer's overlay address through this node's kernel: also this node's route,
//             neighbour and FDB entries for the peer.
// (kernel6 is the same over the IPv6 overlay, on dual-stack networks.)
// So: kernel fails but vtep answers → this node's entries for the peer are wrong; vtep fails but the
// underlay answers → a VTEP (the peer's, or this node's when every peer says so) does not decapsulate;
// nothing answers → the peer is unreachable over the underlay (or its daemon is down).
import { formatIp, tryParseIp, type IpAddress } from '../../lib/ip/address.ts';
import { probePaths, type PeerVerdict, type ProbePath } from '../../lib/weftd-api/node-status.ts';

/** Who sent a request: enough for the answer to be hand-encapsulated back to the sender's VTEP. */
export interface ProbeSender {
  readonly nodeName: string;
  readonly publicIp: IpAddress;
  readonly vtepMac: string;
}

export type ProbeMessage =
  | ({ readonly op: 'request'; readonly path: ProbePath; readonly seq: number } & ProbeSender)
  | { readonly op: 'reply'; readonly path: ProbePath; readonly seq: number; readonly nodeName: string };

const tag = 'weft-probe/1';

export function encodeProbe(m: ProbeMessage): Buffer {
  const body = m.op === 'request'
    ? { tag, op: m.op, path: m.path, seq: m.seq, node: m.nodeName, publicIp: formatIp(m.publicIp), vtepMac: m.vtepMac }
    : { tag, op: m.op, path: m.path, seq: m.seq, node: m.nodeName };
  return Buffer.from(JSON.stringify(body));
}

/** Undefined for anything that is not a well-formed probe (stray datagrams are ignored, not answered). */
export function decodeProbe(bytes: Uint8Array): ProbeMessage | undefined {
  if (bytes.length > 512) return undefined;
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || v.tag !== tag) return undefined;
  const { op, path, seq, node } = v;
  if (!probePaths.includes(path as ProbePath) || !Number.isSafeInteger(seq) || typeof node !== 'string' || node === '') return undefined;
  const base = { path: path as ProbePath, seq: seq as number, nodeName: node };
  if (op === 'reply') return { op, ...base };
  if (op !== 'request' || typeof v.publicIp !== 'string' || typeof v.vtepMac !== 'string') return undefined;
  const publicIp = tryParseIp(v.publicIp);
  if (!publicIp || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(v.vtepMac)) return undefined;
  return { op, ...base, publicIp, vtepMac: v.vtepMac };
}

/** What the answered paths of one round say about a peer. */
export function verdict(answered: ReadonlySet<ProbePath>): PeerVerdict {
  if (answered.has('kernel')) return 'healthy';
  if (answered.has('vtep')) return 'local-entry';
  if (answered.has('underlay')) return 'vtep';
  return 'underlay';
}
