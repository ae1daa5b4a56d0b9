// weftd's operability endpoints on a local address (127.0.0.1 by default: nothing here is for the network):
//   GET /healthz   200 while the daemon works (its loops run), 503 with the reason otherwise
//   GET /readyz    200 once the lease is held and the state file written, 503 with what is missing
//   GET /metrics   Prometheus text format; series by peer only with ?detail=peers, or while
//                  `detailByDefault` says the cluster is small (ops/metrics.ts)
//   GET /status    the node's lease, peers, probe verdicts and last reconcile as JSON (node-status.ts);
//                  peers a page at a time: ?limit=N&after=SUBNET
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CniError, ErrorCode } from '../../lib/cni/errors.ts';
import type { MetricsRegistry } from './metrics.ts';

export interface ProbeResult {
  readonly ok: boolean;
  readonly detail: string;
}

export interface OpsServerOptions {
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  readonly metrics: MetricsRegistry;
  /** Whether a plain /metrics scrape gets the series by peer (default: always). */
  readonly detailByDefault?: () => boolean;
  readonly health: () => ProbeResult;
  readonly ready: () => ProbeResult;
  /** The body of /status (any JSON value), for the request's query; throws BadRequest for a bad one. */
  readonly status: (params: URLSearchParams) => unknown;
}

/** A request the server answers with 400 and the message. */
export class BadRequest extends Error {}

export interface OpsServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

function probe(res: ServerResponse, result: ProbeResult): void {
  send(res, result.ok ? 200 : 503, `${result.detail}\n`);
}

export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const [path, query] = (req.url ?? '/').split('?', 2);
    const params = new URLSearchParams(query);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      send(res, 405, 'method not allowed\n');
      return;
    }
    try {
      switch (path) {
        case '/healthz':
          probe(res, options.health());
          return;
        case '/readyz':
          probe(res, options.ready());
          return;
        case '/status':
          send(res, 200, `${JSON.stringify(options.status(params), null, 2)}\n`, 'application/json');
          return;
        case '/metrics':
          send(res, 200, options.metrics.render(params.get('detail') === 'peers' || (options.detailByDefault?.() ?? true)),
            'text/plain; version=0.0.4; charset=utf-8');
          return;
        default:
          send(res, 404, 'not found: try /healthz, /readyz, /metrics or /status\n');
      }
    } catch (err) {
      send(res, err instanceof BadRequest ? 400 : 500, `${(err as Error).message}\n`);
    }
  };
  const server = createServer(handle);
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      // Most likely another weftd on this address: say which setting to change.
      reject(err.code === 'EADDRINUSE'
        ? new CniError(ErrorCode.InvalidNetworkConfig, `"listen" ${options.host}:${options.port} is in use`, 'another weftd (or another program) listens there: give each daemon its own "listen"', { cause: err })
        : err);
    });
    server.listen(options.port, options.host, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    host: address.address,
    port: address.port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
