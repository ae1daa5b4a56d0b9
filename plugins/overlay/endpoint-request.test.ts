import { describe, expect, it } from 'vitest';
import { catchCniError } from '../../lib/cni/testdata/catch-cni-error.ts';
import type { Result } from '../../lib/cni/types.ts';
import { delegateCniArgs, endpointRequest } from './endpoint-request.ts';
import { overlayConf } from './overlay-fixtures.ts';

const result: Result = { cniVersion: '1.1.0', ips: [{ address: 'fd00::5/64' }, { address: '10.244.3.5/24', gateway: '10.244.3.1' }] };

describe('endpointRequest', () => {
  it('registers nothing when no service is named', () => {
    expect(endpointRequest(overlayConf(), '', 'c1', result)).toBeUndefined();
  });

  it('reads service and ports from CNI_ARGS, the IPv4 address from the result', () => {
    expect(endpointRequest(overlayConf(), 'WEFT_SERVICE=echo;WEFT_PORTS=grpc:50051,53/udp', 'c1', result)).toEqual({
      service: 'echo', containerId: 'c1', address: '10.244.3.5', labels: {}, health: 'healthy',
      ports: [{ name: 'grpc', port: 50051, protocol: 'tcp' }, { name: '', port: 53, protocol: 'udp' }],
    });
  });

  it('ranks CNI_ARGS over the capability over the config, and the Kubernetes pod last', () => {
    const k8s = 'IgnoreUnknown=1;K8S_POD_NAME=Web-0;K8S_POD_NAMESPACE=shop';
    const conf = (extra = {}) => overlayConf({ service: 'from-config', ...extra });
    const capability = { runtimeConfig: { 'weft.dev/service': 'from-capability' } };
    expect(endpointRequest(conf(capability), `${k8s};WEFT_SERVICE=from-args`, 'c1', result)?.service).toBe('from-args');
    expect(endpointRequest(conf(capability), k8s, 'c1', result)?.service).toBe('from-capability');
    expect(endpointRequest(conf(), k8s, 'c1', result)?.service).toBe('from-config');
    const pod = endpointRequest(overlayConf(), k8s, 'c1', result);
    expect(pod?.service).toBe('web-0.shop');
    expect(pod?.labels).toEqual({ 'k8s.pod': 'Web-0', 'k8s.namespace': 'shop' });
  });

  it('merges portMappings with CNI_ARGS ports, each protocol/port once', () => {
    const conf = overlayConf({ runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 50051, protocol: 'tcp' }, { containerPort: 9090 }] } });
    expect(endpointRequest(conf, 'WEFT_SERVICE=echo;WEFT_PORTS=grpc:50051', 'c1', result)?.ports).toEqual([
      { name: 'grpc', port: 50051, protocol: 'tcp' }, { name: '', port: 9090, protocol: 'tcp' },
    ]);
  });

  it('refuses bad values before registering', () => {
    expect(catchCniError(() => endpointRequest(overlayConf(), 'WEFT_SERVICE=echo;WEFT_PORTS=grpc:x', 'c1', result)).code).toBe(4);
    expect(catchCniError(() => endpointRequest(overlayConf(), 'WEFT_SERVICE=Not_A_Name', 'c1', result)).code).toBe(7);
    expect(catchCniError(() => endpointRequest(overlayConf(), 'WEFT_SERVICE=echo;WEFT_PORTS=70000', 'c1', result)).code).toBe(7);
    expect(catchCniError(() => endpointRequest(overlayConf(), 'WEFT_SERVICE=echo;OTHER=1', 'c1', result)).code).toBe(4);
    expect(catchCniError(() => endpointRequest(overlayConf(), 'WEFT_SERVICE=echo', 'c1', { cniVersion: '1.1.0' })).code).toBe(104);
  });
});

describe('delegateCniArgs', () => {
  it('drops only the overlay\'s own keys', () => {
    expect(delegateCniArgs('IgnoreUnknown=1;WEFT_SERVICE=echo;K8S_POD_NAME=a;WEFT_PORTS=80;MAC=02:00:00:00:00:01'))
      .toBe('IgnoreUnknown=1;K8S_POD_NAME=a;MAC=02:00:00:00:00:01');
    expect(delegateCniArgs('')).toBe('');
  });
});
