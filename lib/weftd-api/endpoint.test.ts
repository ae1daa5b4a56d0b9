import { describe, expect, it } from 'vitest';
import { CniError, ErrorCode } from '../cni/errors.ts';
import type { JsonObject } from '../json/json-value.ts';
import { endpointToJson, parseEndpoint, servingPort } from './endpoint.ts';
import { endpoint } from './testing/endpoints.ts';

const valid: JsonObject = {
  service: 'echo.default',
  containerId: 'f3a9c2e1b0d4',
  node: 'node-1',
  address: '2001:DB8:0:0::5',
  ports: [{ name: 'grpc', port: 50051, protocol: 'TCP' }, { port: 9090 }],
  labels: { 'k8s-pod': 'echo-7d9f', 'app.kubernetes.io/name': 'echo' },
  health: 'healthy',
};

function refusal(raw: unknown): CniError {
  try {
    parseEndpoint(raw as JsonObject);
  } catch (err) {
    if (err instanceof CniError) return err;
    throw err;
  }
  throw new Error('parseEndpoint accepted it');
}

describe('parseEndpoint', () => {
  it('reads the JSON form, normalising the address and defaulting protocol, labels and health', () => {
    expect(parseEndpoint(valid)).toEqual({
      service: 'echo.default',
      containerId: 'f3a9c2e1b0d4',
      node: 'node-1',
      address: '2001:db8::5',
      addresses: ['2001:db8::5'],
      ports: [{ name: 'grpc', port: 50051, protocol: 'tcp' }, { name: '', port: 9090, protocol: 'tcp' }],
      labels: { 'k8s-pod': 'echo-7d9f', 'app.kubernetes.io/name': 'echo' },
      health: 'healthy',
    });
    const bare = parseEndpoint({ service: 's', containerId: 'c', node: 'n', address: '10.0.0.1' });
    expect(bare).toMatchObject({ ports: [], labels: {}, health: 'unknown' });
    const noService = parseEndpoint({ containerId: 'c', node: 'n', address: '10.0.0.1' });
    expect(noService.service).toBeUndefined();
    expect(endpointToJson(noService)).not.toHaveProperty('service');
  });

  it('reads back what endpointToJson writes', () => {
    const e = parseEndpoint(valid);
    expect(parseEndpoint(JSON.parse(JSON.stringify(endpointToJson(e))))).toEqual(e);
    const dual = parseEndpoint({ ...valid, address: '10.0.0.5', addresses: ['fd00::5', '10.0.0.5'] });
    expect(dual.addresses).toEqual(['10.0.0.5', 'fd00::5']);
    expect(parseEndpoint(JSON.parse(JSON.stringify(endpointToJson(dual))))).toEqual(dual);
  });

  it.each([
    [{ ...valid, service: 'Echo' }, '"service" must be a lowercase DNS name'],
    [{ ...valid, service: 'x'.repeat(254) }, '"service" must be at most 253 characters, got 254'],
    [{ ...valid, containerId: 'has space' }, '"containerId" must be letters, digits'],
    [{ ...valid, node: '' }, '"node" must not be empty'],
    [{ ...valid, address: '10.0.0.256' }, '"address" must be an IP address'],
    [{ ...valid, address: '10.0.0.0/24' }, '"address" must be an IP address'],
    [{ ...valid, addresses: ['fd00::x'] }, '"addresses[0]" must be an IP address'],
    [{ ...valid, ports: [{ port: 0 }] }, '"ports[0].port" must be at least 1'],
    [{ ...valid, ports: [{ port: 65536 }] }, '"ports[0].port" must be at most 65535'],
    [{ ...valid, ports: [{ port: 80, protocol: 'quic' }] }, '"ports[0].protocol" must be one of tcp, udp, sctp'],
    [{ ...valid, ports: [{ port: 80 }, { port: 80, protocol: 'tcp' }] }, '"ports" lists tcp/80 twice'],
    [{ ...valid, labels: { a: 1 } }, '"labels.a" must be a string'],
    [{ ...valid, labels: { a: 'x'.repeat(254) } }, '"labels.a" must be at most 253 characters'],
    [{ ...valid, health: 'fine' }, '"health" must be one of healthy, unhealthy, draining, unknown'],
    [[], 'must be an object'],
  ])('refuses %j with code 7: %s', (raw, detail) => {
    const err = refusal(raw);
    expect(err.code).toBe(ErrorCode.InvalidNetworkConfig);
    expect(err.msg).toBe('invalid endpoint');
    expect(err.details).toContain(detail);
  });
});

describe('servingPort', () => {
  it('is the first TCP port', () => {
    expect(servingPort(endpoint('s', 'c', 'n', '10.0.0.1', 1, {
      ports: [{ name: 'dns', port: 53, protocol: 'udp' }, { name: 'http', port: 8080, protocol: 'tcp' }],
    }))).toBe(8080);
    expect(servingPort(endpoint('s', 'c', 'n', '10.0.0.1', 1, { ports: [] }))).toBeUndefined();
  });
});
