import { describe, expect, it } from 'vitest';
import { catchCniError } from '../../lib/cni/testing/catch-cni-error.ts';
import type { Result } from '../../lib/cni/types.ts';
import type { JsonObject } from '../../lib/json/json-value.ts';
import type { OverlayConf } from './config.ts';
import { delegateCniArgs, endpointPlan, endpointRequest } from './endpoint-request.ts';
import { overlayConf } from './testing/fixtures.ts';

const result: Result = { cniVersion: '1.1.0', ips: [{ address: 'fd00::5/64' }, { address: '10.244.3.5/24', gateway: '10.244.3.1' }] };

/** The endpoint ADD would register, from the plan and the result. */
function request(conf: OverlayConf, cniArgs: string, containerId: string, added: Result): JsonObject {
  const plan = endpointPlan(conf, cniArgs, containerId);
  return endpointRequest(plan, added);
}

describe('endpointRequest', () => {
  it('registers a container that names no service without one (DNS names it)', () => {
    expect(request(overlayConf(), '', 'c1', result)).toEqual({
      containerId: 'c1', address: '10.244.3.5', addresses: ['10.244.3.5', 'fd00::5'], ports: [], labels: {}, health: 'healthy',
    });
  });

  it('reads service and ports from CNI_ARGS, the IPv4 address and all addresses from the result', () => {
    expect(request(overlayConf(), 'WEFT_SERVICE=echo;WEFT_PORTS=grpc:50051,53/udp', 'c1', result)).toEqual({
      service: 'echo', containerId: 'c1', address: '10.244.3.5', addresses: ['10.244.3.5', 'fd00::5'], labels: {}, health: 'healthy',
      ports: [{ name: 'grpc', port: 50051, protocol: 'tcp' }, { name: '', port: 53, protocol: 'udp' }],
    });
  });

  it('ranks CNI_ARGS over the capability over the config, and the Kubernetes pod last', () => {
    const k8s = 'IgnoreUnknown=1;K8S_POD_NAME=Web-0;K8S_POD_NAMESPACE=shop';
    const conf = (extra = {}) => overlayConf({ service: 'from-config', ...extra });
    const capability = { runtimeConfig: { 'weft.dev/service': 'from-capability' } };
    expect(request(conf(capability), `${k8s};WEFT_SERVICE=from-args`, 'c1', result)?.service).toBe('from-args');
    expect(request(conf(capability), k8s, 'c1', result)?.service).toBe('from-capability');
    expect(request(conf(), k8s, 'c1', result)?.service).toBe('from-config');
    const pod = request(overlayConf(), k8s, 'c1', result);
    expect(pod?.service).toBe('web-0.shop');
    expect(pod?.labels).toEqual({ 'k8s.pod': 'Web-0', 'k8s.namespace': 'shop' });
  });

  it('merges portMappings with CNI_ARGS ports, each protocol/port once', () => {
    const conf = overlayConf({ runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 50051, protocol: 'tcp' }, { containerPort: 9090 }] } });
    expect(request(conf, 'WEFT_SERVICE=echo;WEFT_PORTS=grpc:50051', 'c1', result)?.ports).toEqual([
      { name: 'grpc', port: 50051, protocol: 'tcp' }, { name: '', port: 9090, protocol: 'tcp' },
    ]);
  });

  it('refuses bad values before registering: code 4 naming the CNI_ARGS pair', () => {
    for (const args of ['WEFT_SERVICE=echo;WEFT_PORTS=grpc:x', 'WEFT_SERVICE=Not_A_Name', 'WEFT_SERVICE=echo;WEFT_PORTS=70000', 'WEFT_SERVICE=echo;WEFT_PORTS=80/icmp']) {
      const err = catchCniError(() => endpointPlan(overlayConf(), args, 'c1'));
      expect(err, args).toMatchObject({ code: 4, msg: 'invalid CNI_ARGS', details: expect.stringContaining(`pair "${args.split(';').at(-1)!}"`) });
    }
    expect(catchCniError(() => endpointPlan(overlayConf(), 'WEFT_SERVICE=echo;OTHER=1', 'c1')).code).toBe(4);
    expect(catchCniError(() => request(overlayConf(), 'WEFT_SERVICE=echo', 'c1', { cniVersion: '1.1.0' })).code).toBe(104);
  });

  it('refuses bad values also when no service is named, naming the field', () => {
    expect(catchCniError(() => endpointPlan(overlayConf(), 'WEFT_PORTS=abc', 'c1'))).toMatchObject({ code: 4, details: expect.stringMatching(/"WEFT_PORTS=abc"/) });
    const bads: Array<[JsonObject, string]> = [
      [{ runtimeConfig: { 'weft.dev/service': 5 } }, '"runtimeConfig.weft.dev/service" must be a string'],
      [{ runtimeConfig: { 'weft.dev/service': 'Not_A_Name' } }, '"runtimeConfig.weft.dev/service" cannot be registered'],
      [{ runtimeConfig: { portMappings: [{ containerPort: '80' }] } }, '"runtimeConfig.portMappings[0].containerPort" must be an integer'],
      [{ runtimeConfig: { portMappings: [{ containerPort: 80 }, { containerPort: 0 }] } }, '"runtimeConfig.portMappings[1]" cannot be registered'],
      [{ runtimeConfig: { portMappings: [{ containerPort: 80, protocol: 'icmp' }] } }, '"runtimeConfig.portMappings[0]" cannot be registered'],
      [{ runtimeConfig: { portMappings: 'all' } }, '"runtimeConfig.portMappings" must be a list'],
      [{ service: 'Not_A_Name' }, '"service" cannot be registered'],
    ];
    for (const [extra, details] of bads) {
      expect(catchCniError(() => endpointPlan(overlayConf(extra), '', 'c1')), details).toMatchObject({ code: 7, details: expect.stringContaining(details) });
    }
  });
});

describe('delegateCniArgs', () => {
  it('drops only the overlay\'s own keys', () => {
    expect(delegateCniArgs('IgnoreUnknown=1;WEFT_SERVICE=echo;K8S_POD_NAME=a;WEFT_PORTS=80;MAC=02:00:00:00:00:01'))
      .toBe('IgnoreUnknown=1;K8S_POD_NAME=a;MAC=02:00:00:00:00:01');
    expect(delegateCniArgs('')).toBe('');
  });
});
