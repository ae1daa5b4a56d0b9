import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatCidr, parseCidr } from '../ip/cidr.ts';
import { formatSubnetEnv, gatewayForm, parseSubnetEnv, readSubnetEnv, writeSubnetEnv } from './subnet-env.ts';

const dir = mkdtempSync(join(tmpdir(), 'weft-subnet-env-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('subnet.env', () => {
  const env = {
    network: parseCidr('10.244.0.0/16'),
    subnet: gatewayForm(parseCidr('10.244.3.0/24')),
    ipv6Network: parseCidr('fd00:10:244::/56'),
    ipv6Subnet: gatewayForm(parseCidr('fd00:10:244:3::/64')),
    mtu: 1450,
    ipMasq: true,
    dnsDomain: 'weft.internal',
  };

  it('writes the documented lines', () => {
    expect(formatSubnetEnv(env)).toBe([
      'WEFT_NETWORK=10.244.0.0/16', 'WEFT_SUBNET=10.244.3.1/24',
      'WEFT_IPV6_NETWORK=fd00:10:244::/56', 'WEFT_IPV6_SUBNET=fd00:10:244:3::1/64',
      'WEFT_MTU=1450', 'WEFT_IPMASQ=true', 'WEFT_DNS_DOMAIN=weft.internal', '',
    ].join('\n'));
  });

  it('reads back what it writes, through the file', async () => {
    const path = join(dir, 'run', 'subnet.env');
    await writeSubnetEnv(path, env);
    expect(await readSubnetEnv(path)).toEqual(env);
    expect(await readSubnetEnv(join(dir, 'missing.env'))).toBeUndefined();
  });

  it('ignores comments, blank lines and unknown keys', () => {
    const parsed = parseSubnetEnv('# hi\n\nWEFT_NETWORK=10.244.0.0/16\nWEFT_SUBNET=10.244.3.1/24\nWEFT_FUTURE=1\nWEFT_MTU=1400\nWEFT_IPMASQ=false\n');
    expect(formatCidr(parsed.subnet)).toBe('10.244.3.1/24');
    expect(parsed).toMatchObject({ mtu: 1400, ipMasq: false });
    expect(parsed.ipv6Subnet).toBeUndefined();
    expect(parsed.dnsDomain).toBeUndefined();
  });

  it.each([
    ['WEFT_SUBNET=10.244.3.1/24\nWEFT_MTU=1450\nWEFT_IPMASQ=true', /WEFT_NETWORK is missing/],
    ['WEFT_NETWORK=10.244.0.0/16\nWEFT_SUBNET=fd00::1/64\nWEFT_MTU=1450\nWEFT_IPMASQ=true', /WEFT_SUBNET: expected an IPv4 CIDR/],
    ['WEFT_NETWORK=10.244.0.0/16\nWEFT_SUBNET=10.244.3.1/24\nWEFT_MTU=15o0\nWEFT_IPMASQ=true', /WEFT_MTU: expected 68\.\.65535/],
    ['WEFT_NETWORK=10.244.0.0/16\nWEFT_SUBNET=10.244.3.1/24\nWEFT_MTU=1450\nWEFT_IPMASQ=yes', /WEFT_IPMASQ: expected true or false/],
    ['WEFT_NETWORK=10.244.0.0/16\nWEFT_SUBNET=10.244.3.1/24\nWEFT_IPV6_NETWORK=fd00::/56\nWEFT_MTU=1450\nWEFT_IPMASQ=true', /come together/],
    ['WEFT_NETWORK 10.244.0.0/16', /line 1: expected KEY=VALUE/],
    ['WEFT_NETWORK=10.244.0.0/16\nWEFT_SUBNET=10.244.3.1/24\nWEFT_MTU=1450\nWEFT_IPMASQ=true\nWEFT_DNS_DOMAIN=a b', /WEFT_DNS_DOMAIN: expected a lowercase DNS name/],
  ])('refuses %j', (text, message) => {
    expect(() => parseSubnetEnv(text)).toThrow(message);
  });

  it('names the file when it is damaged', async () => {
    const path = join(dir, 'bad.env');
    writeFileSync(path, 'garbage\n');
    await expect(readSubnetEnv(path)).rejects.toThrow(/bad\.env: line 1/);
  });
});
