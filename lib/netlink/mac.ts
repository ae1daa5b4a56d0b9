// Link-layer (MAC) addresses as the text form `ip` prints: lower-case hex pairs joined by colons.

/** The all-zeros address: on a VXLAN device's forwarding table it means "flood to this remote". */
export const zeroMac = '00:00:00:00:00:00';

// The three forms Go's net.ParseMAC reads for a 6-byte address (what the reference plugins accept), one
// separator throughout.
const macForms = [/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i, /^[0-9a-f]{2}(-[0-9a-f]{2}){5}$/i, /^[0-9a-f]{4}(\.[0-9a-f]{4}){2}$/i];

/** Parses `aa:bb:cc:dd:ee:ff`, `aa-bb-cc-dd-ee-ff` or `aabb.ccdd.eeff` (any case); throws TypeError otherwise. */
export function parseMac(text: string): Buffer {
  if (typeof text !== 'string' || !macForms.some((form) => form.test(text))) {
    throw new TypeError(`invalid MAC address: ${JSON.stringify(text)}`);
  }
  return Buffer.from(text.replace(/[:.-]/g, ''), 'hex');
}

export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}
