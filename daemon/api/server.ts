// weftd's local API on a unix socket (default /run/weft/weftd.sock, mode 0600: only root, which runs the
// CNI plugins, may register endpoints). JSON over HTTP/1.1:
//
//   GET    /v1/lease                   this node's lease: {node, network, subnet, ipv6Subnet?, mtu}; 503 before one is held
//   GET    /v1/endpoints               {endpoints: [Endpoint...]} the endpoints registered on this node
//   PUT    /v1/endpoints/<containerId> body: an Endpoint (lib/weftd-api/endpoint.ts) without "node": weftd sets
//                                      its own; 200 with the stored endpoint, 400 with {error} when invalid
//   DELETE /v1/endpoints/<containerId> 204, also when there was none (DEL is idempotent)
import { chmod } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { CniError } from '../../lib/cni/errors.ts';
import type { JsonObject, JsonValue } from '../../lib/json/json-value.ts';
import { claimSocketPath } from '../files/unix-socket.ts';
import type { Logger } from '../log.ts';
import type { EndpointSet } from '../xds/endpoint-set.ts';
import { endpointToJson, parseEndpoint } from '../../lib/weftd-api/endpoint.ts';

export interface ApiServerOptions {
  readonly socketPath: string;
  readonly node: string;
  /** This node's registered endpoints. */
  readonly endpoints: EndpointSet;
  /** The lease as served by GET /v1/lease; undefined while none is held. */
  readonly lease: () => JsonObject | undefined;
  readonly log: Logger;
}

export interface ApiServer {
  close(): Promise<void>;
}

const maxBodyBytes = 64 * 1024;

class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly allow?: string) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body?: JsonValue, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<JsonValue> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBodyBytes) throw new HttpError(413, `body larger than ${maxBodyBytes} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as JsonValue;
  } catch (err) {
    throw new HttpError(400, `body is not JSON: ${(err as Error).message}`);
  }
}

function describe(err: CniError): string {
  return err.details ? `${err.msg}: ${err.details}` : err.msg;
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { endpoints, node, log } = options;

  const putEndpoint = async (containerId: string, req: IncomingMessage): Promise<JsonObject> => {
    const body = await readJson(req);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'body must be a JSON object');
    if (body.containerId !== undefined && body.containerId !== containerId) throw new HttpError(400, 'containerId differs from the path');
    let endpoint;
    try {
      endpoint = parseEndpoint({ ...body, containerId, node });
    } catch (err) {
      if (err instanceof CniError) throw new HttpError(400, describe(err));
      throw err;
    }
    endpoints.set(endpoint);
    log.info('endpoint registered', { containerId, service: endpoint.service, address: endpoint.address });
    return endpointToJson(endpoint);
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0]!;
    const allow = (methods: string): void => {
      if (!methods.split(', ').includes(req.method ?? '')) throw new HttpError(405, `${req.method ?? ''} is not allowed on ${path}`, methods);
    };
    if (path === '/v1/lease') {
      allow('GET');
      const lease = options.lease();
      return lease ? send(res, 200, lease) : send(res, 503, { error: 'no lease held yet' });
    }
    if (path === '/v1/endpoints') {
      allow('GET');
      return send(res, 200, { endpoints: [...endpoints.endpoints()].map(endpointToJson) });
    }
    const match = /^\/v1\/endpoints\/([^/]+)$/.exec(path);
    if (!match) throw new HttpError(404, `no such resource: ${path}`);
    allow('PUT, DELETE');
    let containerId: string;
    try {
      containerId = decodeURIComponent(match[1]!);
    } catch {
      throw new HttpError(400, `the container ID in ${path} is not valid percent-encoding`);
    }
    if (req.method === 'PUT') return send(res, 200, await putEndpoint(containerId, req));
    if (endpoints.delete(containerId)) log.info('endpoint deregistered', { containerId });
    return send(res, 204);
  };

  const server: Server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      if (err instanceof HttpError) return send(res, err.status, { error: err.message }, err.allow ? { allow: err.allow } : {});
      log.error('local API request failed', { error: err, method: req.method, url: req.url });
      send(res, 500, { error: 'internal error' });
    });
  });
  await claimSocketPath(options.socketPath, 'the local API socket');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(options.socketPath, 0o600);
  return {
    // Closing also removes the socket file (libuv unlinks the path it bound).
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
