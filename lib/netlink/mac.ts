// Link-layer (MAC) addresses as the text form `ip` prints: lower-case hex pairs joined by colons.

/** The all-zeros address: on a VXLAN device's forwarding table it means "flood to this remote". */
export const zeroMac = '00:00:00:00:00:00';

/** Parses `aa:bb:cc:dd:ee:ff` (or `-` separated, any case); throws TypeError otherwise. */
export function parseMac(text: string): Buffer {
  if (typeof text !== 'string' || !/^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/.test(text)) {
    throw new TypeError(`invalid MAC address: ${JSON.stringify(text)}`);
  }
  return Buffer.from(text.replace(/[:-]/g, ''), 'hex');
}

export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}
