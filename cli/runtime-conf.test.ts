import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../lib/cni/errors.ts';
import { containerIdForNetns, parseCapabilityArgs, parseCniArgPairs, runtimeConfFromEnv } from './runtime-conf.ts';

describe('containerIdForNetns', () => {
  it('is cnitool\'s ID: "cnitool-" + 20 hex digits of sha512 of the path', () => {
    // printf %s /var/run/netns/testing | sha512sum | cut -c1-20
    expect(containerIdForNetns('/var/run/netns/testing')).toBe('cnitool-77383ca0a0715733ca6f');
  });

  it('hashes the absolute, cleaned path, as Go\'s filepath.Abs gives it', () => {
    expect(containerIdForNetns('/var/run/netns/../netns//testing/')).toBe('cnitool-77383ca0a0715733ca6f');
    const cwd = process.cwd();
    expect(containerIdForNetns('ns-file')).toBe(containerIdForNetns(`${cwd}/ns-file`));
  });
});

describe('parseCniArgPairs', () => {
  it('splits K=V;K=V into ordered pairs', () => {
    expect(parseCniArgPairs('IgnoreUnknown=1;K8S_POD_NAME=web')).toEqual([['IgnoreUnknown', '1'], ['K8S_POD_NAME', 'web']]);
    expect(parseCniArgPairs('')).toEqual([]);
  });

  it.each(['K', 'K=', '=V', 'K=V=W', 'A=1;', ';A=1'])('refuses %j with code 4', (text) => {
    expect(() => parseCniArgPairs(text)).toThrow(expect.objectContaining({ code: ErrorCode.InvalidEnvironment }));
  });
});

describe('parseCapabilityArgs', () => {
  it('reads a JSON object', () => {
    expect(parseCapabilityArgs('{"portMappings":[{"hostPort":8080}]}')).toEqual({ portMappings: [{ hostPort: 8080 }] });
    expect(parseCapabilityArgs('')).toEqual({});
  });

  it.each(['[1]', 'null', '"x"', '{bad'])('refuses %j with code 4', (text) => {
    expect(() => parseCapabilityArgs(text)).toThrow(expect.objectContaining({ code: ErrorCode.InvalidEnvironment }));
  });
});

describe('runtimeConfFromEnv', () => {
  it('takes the interface from the flag, then CNI_IFNAME, then eth0', () => {
    expect(runtimeConfFromEnv({}, '/run/netns/a').ifName).toBe('eth0');
    expect(runtimeConfFromEnv({ CNI_IFNAME: 'net1' }, '/run/netns/a').ifName).toBe('net1');
    expect(runtimeConfFromEnv({ CNI_IFNAME: 'net1' }, '/run/netns/a', 'net2').ifName).toBe('net2');
  });

  it('collects the attachment parameters', () => {
    expect(runtimeConfFromEnv({ CNI_ARGS: 'A=1', CAP_ARGS: '{"mac":"0a:58:00:00:00:01"}' }, '/run/netns/a')).toEqual({
      containerId: containerIdForNetns('/run/netns/a'),
      netns: '/run/netns/a',
      ifName: 'eth0',
      cniArgs: [['A', '1']],
      capabilityArgs: { mac: '0a:58:00:00:00:01' },
    });
  });

  it('refuses an interface name the kernel would refuse, with code 4', () => {
    for (const ifName of ['a-name-longer-than-15', 'a/b', '..']) {
      expect(() => runtimeConfFromEnv({}, '/run/netns/a', ifName)).toThrow(expect.objectContaining({ code: ErrorCode.InvalidEnvironment }));
    }
  });
});
