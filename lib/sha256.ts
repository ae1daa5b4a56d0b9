// SHA-256 (FIPS 180-4) of a short text, in JavaScript: plugins name nftables chains and saved files by
// hashes of attachment keys, and loading node:crypto for that costs a plugin ~2.5 ms of start-up, far more
// than hashing a few dozen bytes here. Same digest as node:crypto, so names do not change.

// The first 32 bits of the fractional parts of the cube roots of the first 64 primes.
const K = new Uint32Array(64);
// ... and of the square roots of the first 8 primes: the initial hash value.
const H0 = new Uint32Array(8);

function fractionBits(x: number): number {
  return Math.floor((x - Math.floor(x)) * 0x100000000) >>> 0;
}

{
  let found = 0;
  for (let n = 2; found < 64; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) if (n % d === 0) prime = false;
    if (!prime) continue;
    if (found < 8) H0[found] = fractionBits(Math.sqrt(n));
    K[found++] = fractionBits(Math.cbrt(n));
  }
}

function rotr(x: number, n: number): number {
  return (x >>> n) | (x << (32 - n));
}

/** The hex SHA-256 digest of `text`'s UTF-8 bytes. */
export function sha256Hex(text: string): string {
  const message = Buffer.from(text, 'utf8');
  // The message, a 1 bit, zeros, and the length in bits (64-bit big-endian), to a multiple of 64 bytes.
  const padded = Buffer.alloc(Math.ceil((message.length + 9) / 64) * 64);
  message.copy(padded);
  padded[message.length] = 0x80;
  const bits = message.length * 8;
  padded.writeUInt32BE(Math.floor(bits / 0x100000000), padded.length - 8);
  padded.writeUInt32BE(bits >>> 0, padded.length - 4);

  const h = H0.slice();
  const w = new Uint32Array(64);
  for (let block = 0; block < padded.length; block += 64) {
    for (let t = 0; t < 16; t++) w[t] = padded.readUInt32BE(block + 4 * t);
    for (let t = 16; t < 64; t++) {
      const s0 = rotr(w[t - 15]!, 7) ^ rotr(w[t - 15]!, 18) ^ (w[t - 15]! >>> 3);
      const s1 = rotr(w[t - 2]!, 17) ^ rotr(w[t - 2]!, 19) ^ (w[t - 2]! >>> 10);
      w[t] = w[t - 16]! + s0 + w[t - 7]! + s1;
    }
    let [a, b, c, d, e, f, g, hh] = [h[0]!, h[1]!, h[2]!, h[3]!, h[4]!, h[5]!, h[6]!, h[7]!];
    for (let t = 0; t < 64; t++) {
      const t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[t]! + w[t]!;
      const t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      [hh, g, f, e, d, c, b, a] = [g, f, e, (d + t1) >>> 0, c, b, a, (t1 + t2) >>> 0];
    }
    [a, b, c, d, e, f, g, hh].forEach((x, i) => {
      h[i] = h[i]! + x;
    });
  }
  return Array.from(h, (x) => x.toString(16).padStart(8, '0')).join('');
}
