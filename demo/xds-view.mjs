// Prints what an xDS server serves, service by service, as a client sees it: one ADS stream (Envoy's v3
// API), a wildcard Cluster request, then the ClusterLoadAssignment of every cluster named in the answer.
// It shares nothing with weftd's xDS code: the Envoy .proto files shipped by @grpc/grpc-js-xds, loaded with
// protobufjs, and a plain grpc-js stream.
//
//   node demo/xds-view.mjs HOST:PORT [--expect N] [--brief] [--timeout MS]
//
// --expect N keeps the stream open (ACKing each push) until the server serves N endpoints in all, so a
// caller can wait for changes to spread; exit 1 when that (or any answer) does not come within the timeout.
// --brief prints one line: the count of services and endpoints.
import grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: { expect: { type: 'string' }, brief: { type: 'boolean', default: false }, timeout: { type: 'string', default: '5000' } },
});
const server = positionals[0];
const expected = flags.expect === undefined ? undefined : Number(flags.expect);
if (!server || positionals.length > 1 || Number.isNaN(expected)) {
  console.error('usage: node demo/xds-view.mjs HOST:PORT [--expect N] [--brief] [--timeout MS]');
  process.exit(2);
}

const typeUrl = (name) => `type.googleapis.com/${name}`;
const clusterType = 'envoy.config.cluster.v3.Cluster';
const loadAssignmentType = 'envoy.config.endpoint.v3.ClusterLoadAssignment';

function loadProtos() {
  const deps = join(dirname(createRequire(import.meta.url).resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  // protobufjs ships google/protobuf/descriptor.proto, which the Envoy files import.
  const includeDirs = [...['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(deps, d)),
    dirname(createRequire(import.meta.url).resolve('protobufjs/package.json'))];
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => includeDirs.map((d) => join(d, target)).find(existsSync) ?? target;
  root.loadSync([
    'envoy/service/discovery/v3/discovery.proto',
    'envoy/config/cluster/v3/cluster.proto',
    'envoy/config/endpoint/v3/endpoint.proto',
  ], { keepCase: true });
  root.resolveAll();
  return root;
}

const root = loadProtos();
const Request = root.lookupType('envoy.service.discovery.v3.DiscoveryRequest');
const Response = root.lookupType('envoy.service.discovery.v3.DiscoveryResponse');
const asObject = { enums: String, longs: Number, defaults: true };
const unpack = (any, type) => root.lookupType(type).toObject(root.lookupType(type).decode(any.value), asObject);

const client = new grpc.Client(server, grpc.credentials.createInsecure());
const call = client.makeBidiStreamRequest(
  '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
  (message) => Buffer.from(Request.encode(Request.fromObject(message)).finish()),
  (bytes) => Response.toObject(Response.decode(bytes), asObject),
);
const node = { id: 'weft-demo-viewer', cluster: 'weft-demo' };
let last = 'no answer';
const timer = setTimeout(() => fail(`${server} within ${flags.timeout} ms: ${last}${expected === undefined ? '' : `, expected ${expected} endpoints`}`), Number(flags.timeout));

function fail(message) {
  console.error(`xds-view: ${message}`);
  process.exit(1);
}

function endpointLines(assignment) {
  const lines = [];
  for (const group of assignment.endpoints) {
    const where = group.locality?.sub_zone || group.locality?.zone || '-';
    for (const lb of group.lb_endpoints) {
      const socket = lb.endpoint.address.socket_address;
      const host = socket.address.includes(':') ? `[${socket.address}]` : socket.address;
      lines.push(`    ${`${host}:${socket.port_value}`.padEnd(24)} locality ${where.padEnd(8)} ${lb.health_status}  weight ${group.load_balancing_weight?.value ?? '-'}`);
    }
  }
  return lines;
}

function print(response, assignments) {
  const lines = assignments.map(endpointLines);
  const total = lines.reduce((n, l) => n + l.length, 0);
  const services = `${assignments.length} service${assignments.length === 1 ? '' : 's'}`;
  if (flags.brief) {
    console.log(`xDS at ${server}: ${services}, ${total} endpoint${total === 1 ? '' : 's'}`);
    return;
  }
  console.log(`xDS at ${server}: ${services} (ClusterLoadAssignment version ${response.version_info})`);
  assignments.forEach((assignment, i) => {
    console.log(`  ${assignment.cluster_name} → ${lines[i].length} endpoint${lines[i].length === 1 ? '' : 's'}`);
    for (const line of lines[i]) console.log(line);
  });
}

function finish() {
  clearTimeout(timer);
  call.cancel();
  client.close();
}

const ack = (response, names) => ({ node, type_url: response.type_url, version_info: response.version_info, response_nonce: response.nonce, resource_names: names });
let names = [];
let assignments = [];
call.on('data', (response) => {
  if (response.type_url === typeUrl(clusterType)) {
    const clusters = response.resources.map((any) => unpack(any, clusterType));
    names = clusters.map((c) => c.eds_cluster_config?.service_name || c.name);
    last = `${names.length} clusters`;
    // Clusters come and go with services: keep the load assignments of those that remain.
    assignments = assignments.filter((a) => names.includes(a.cluster_name));
    call.write(ack(response, []));
    if (names.length === 0 && (expected === undefined || expected === 0)) {
      print(response, []);
      finish();
      return;
    }
    call.write({ node, type_url: typeUrl(loadAssignmentType), resource_names: names });
    return;
  }
  if (response.type_url !== typeUrl(loadAssignmentType)) return;
  call.write(ack(response, names));
  const byName = new Map(assignments.map((a) => [a.cluster_name, a]));
  for (const any of response.resources) {
    const assignment = unpack(any, loadAssignmentType);
    byName.set(assignment.cluster_name, assignment);
  }
  assignments = names.filter((n) => byName.has(n)).map((n) => byName.get(n));
  const total = assignments.reduce((n, a) => n + endpointLines(a).length, 0);
  last = `${total} endpoints`;
  if (assignments.length < names.length || (expected !== undefined && total !== expected)) return;
  print(response, assignments);
  finish();
});
call.on('error', (err) => {
  if (err.code !== grpc.status.CANCELLED) fail(`${server}: ${err.details || err.message}`);
});
call.write({ node, type_url: typeUrl(clusterType), resource_names: [] });
