// The MAC of this node's VXLAN device. Peers keep a permanent neighbour entry and an FDB entry for it, so
// it must not change when weftd or the host restarts: generated once, kept in the state directory (which
// must survive reboots, unlike /run), and read back ever after.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { readBoundedFile } from '../../lib/files/bounded-read.ts';
import { formatMac, parseMac } from '../../lib/netlink/index.ts';
import { writeFileAtomic } from '../../lib/files/atomic-write.ts';

export const vtepMacFile = 'vtep-mac';

/** A MAC from six random bytes: locally administered (bit 1 of the first octet set), unicast (bit 0 clear). */
export function vtepMacFromBytes(bytes: Uint8Array): string {
  if (bytes.length !== 6) throw new TypeError(`a MAC has 6 bytes, not ${bytes.length}`);
  const mac = Uint8Array.from(bytes);
  mac[0] = (mac[0]! & 0xfc) | 0x02;
  return formatMac(mac);
}

/** Whether a MAC can be a VTEP's own address: unicast and not all zeros. */
function usable(mac: Buffer): boolean {
  return (mac[0]! & 0x01) === 0 && mac.some((b) => b !== 0);
}

/** Reads the stored MAC, creating it on first use. A damaged file is an error, never silently replaced. */
export async function loadVtepMac(stateDir: string, random: (n: number) => Uint8Array = randomBytes): Promise<{ mac: string; created: boolean }> {
  const path = join(stateDir, vtepMacFile);
  let text: string | undefined;
  try {
    text = readBoundedFile(path).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (text !== undefined) {
    let mac: Buffer;
    try {
      mac = parseMac(text);
    } catch {
      throw new TypeError(`${path} does not hold a MAC address (${JSON.stringify(text.slice(0, 40))}): fix or remove it; peers know this node by that MAC`);
    }
    if (!usable(mac)) throw new TypeError(`${path}: ${text} is not a unicast MAC`);
    return { mac: formatMac(mac), created: false };
  }
  const mac = vtepMacFromBytes(random(6));
  await writeFileAtomic(path, `${mac}\n`);
  return { mac, created: true };
}
