// Unique names for everything a test creates in the kernel. They double as interface names, and the
// kernel limits those to 15 characters (IFNAMSIZ - 1).
import { randomBytes } from 'node:crypto';

export const maxNameLength = 15;
const suffixLength = 5;

/** `wt` + prefix + a random suffix, at most 15 characters. */
export function uniqueName(prefix = ''): string {
  if (!/^[a-z0-9]*$/.test(prefix)) throw new TypeError(`name prefix ${JSON.stringify(prefix)}: use a-z and 0-9 only`);
  if (2 + prefix.length + suffixLength > maxNameLength) {
    throw new TypeError(`name prefix ${JSON.stringify(prefix)} is longer than ${maxNameLength - 2 - suffixLength} characters`);
  }
  // base32 digits keep the name lower-case alphanumeric.
  const suffix = [...randomBytes(suffixLength)].map((b) => (b % 32).toString(32)).join('');
  return `wt${prefix}${suffix}`;
}
