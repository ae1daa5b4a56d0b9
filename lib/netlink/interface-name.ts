// The kernel's rules for a new interface name (net/core/dev.c dev_valid_name), checked before anything is
// made, by the skeleton for CNI_IFNAME (code 4) and by configs for the names they give (code 7). A NUL ends
// the name in its netlink attribute: "hb\0br" would make a link named "hb".

export const MAX_INTERFACE_NAME_BYTES = 15;
// Go's unicode.IsSpace, which the reference applies, also counts U+0085.
const FORBIDDEN = /[/:\s\u0085]/;

export interface InterfaceNameProblem {
  msg: string;
  details?: string;
}

/** What is wrong with `name` as an interface name, or undefined when the kernel takes it. */
export function interfaceNameProblem(name: string): InterfaceNameProblem | undefined {
  if (name === '') return { msg: 'interface name is empty' };
  if (Buffer.byteLength(name) > MAX_INTERFACE_NAME_BYTES) {
    return { msg: 'interface name is too long', details: `interface name should be less than ${MAX_INTERFACE_NAME_BYTES + 1} characters` };
  }
  if (name === '.' || name === '..') return { msg: 'interface name is . or ..' };
  if (FORBIDDEN.test(name)) return { msg: 'interface name contains / or : or whitespace characters', details: JSON.stringify(name) };
  if (name.includes('\0')) return { msg: 'interface name contains a NUL byte', details: JSON.stringify(name) };
  // Node decodes the environment as UTF-8, replacing bytes that are not; the link would get another name.
  if (name.includes('\uFFFD')) return { msg: 'interface name is not valid UTF-8', details: JSON.stringify(name) };
  return undefined;
}
