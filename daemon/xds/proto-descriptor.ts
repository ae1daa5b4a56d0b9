// The protobuf descriptor of what weftd's xDS server encodes and decodes, read from the Envoy API .proto
// files that @grpc/grpc-js-xds ships and cut down to the types reachable from the services and resources
// below: 346 of the 490 types the files pull in, 91 KB of JSON instead of 187 KB, and about a quarter of the
// time to load (measured 37 ms against 163 ms). Custom options (validation rules, annotations) are dropped:
// they do not change encoding.
// Source runs load this at start; the bundle carries its JSON (see protos.ts), made by `xdsDescriptor()`.
import { accessSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import protobuf from 'protobufjs';
import type { INamespace } from 'protobufjs';

const protoFiles = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
];

/** What the server needs: the ADS service, the four resources and the messages packed inside them. */
const rootTypes = [
  'envoy.service.discovery.v3.AggregatedDiscoveryService',
  'envoy.config.listener.v3.Listener',
  'envoy.config.route.v3.RouteConfiguration',
  'envoy.config.cluster.v3.Cluster',
  'envoy.config.endpoint.v3.ClusterLoadAssignment',
  'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  'envoy.extensions.filters.http.router.v3.Router',
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
];

/** The include directories: the Envoy API trees in @grpc/grpc-js-xds, and protobufjs's descriptor.proto. */
function includeDirs(): string[] {
  const require = createRequire(import.meta.url);
  const deps = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  return [
    ...['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((dir) => join(deps, dir)),
    dirname(require.resolve('protobufjs/package.json')),
  ];
}

function loadProtoFiles(): protobuf.Root {
  const dirs = includeDirs();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    if (isAbsolute(target)) return target;
    for (const dir of dirs) {
      const path = join(dir, target);
      try {
        accessSync(path);
        return path;
      } catch {
        // not in this directory
      }
    }
    throw new Error(`${target} is in none of ${dirs.join(', ')}`);
  };
  root.loadSync(protoFiles, { keepCase: true });
  root.resolveAll();
  return root;
}

function reachable(root: protobuf.Root): Set<string> {
  const seen = new Set<string>();
  const visit = (object: protobuf.ReflectionObject | null): void => {
    if (!object || seen.has(object.fullName)) return;
    seen.add(object.fullName);
    if (object instanceof protobuf.Type) {
      for (const field of object.fieldsArray) visit(field.resolvedType);
    } else if (object instanceof protobuf.Service) {
      for (const method of object.methodsArray) {
        visit(method.resolvedRequestType);
        visit(method.resolvedResponseType);
      }
    }
  };
  for (const name of rootTypes) visit(root.lookup(name));
  return seen;
}

type Json = Record<string, unknown>;

/** Drops custom options ("(validate.rules)…") from an options object, keeping built-in ones (packed…). */
function withoutCustomOptions(holder: Json): void {
  const options = holder['options'] as Json | undefined;
  if (!options) return;
  for (const key of Object.keys(options)) if (key.startsWith('(')) delete options[key];
  if (Object.keys(options).length === 0) delete holder['options'];
}

function prune(namespace: protobuf.NamespaceBase, keep: Set<string>): Json {
  const nested: Json = {};
  for (const child of namespace.nestedArray) {
    const isDefinition = child instanceof protobuf.Type || child instanceof protobuf.Enum || child instanceof protobuf.Service;
    const inner = child instanceof protobuf.Namespace ? prune(child, keep) : {};
    if (isDefinition && keep.has(child.fullName)) {
      const json = child.toJSON() as unknown as Json;
      withoutCustomOptions(json);
      for (const member of ['fields', 'oneofs', 'methods'] as const) {
        for (const entry of Object.values((json[member] as Record<string, Json> | undefined) ?? {})) withoutCustomOptions(entry);
      }
      delete json['valuesOptions'];
      delete json['nested'];
      if (Object.keys(inner).length > 0) json['nested'] = inner;
      nested[child.name] = json;
    } else if (Object.keys(inner).length > 0) {
      // A plain namespace, or a type not needed itself whose nested types are.
      nested[child.name] = { nested: inner };
    }
  }
  return nested;
}

/** Builds the cut-down descriptor from the .proto files (needs node_modules; the build runs it). */
export function xdsDescriptor(): INamespace {
  const root = loadProtoFiles();
  return { nested: prune(root, reachable(root)) } as INamespace;
}
