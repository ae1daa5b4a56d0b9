// A small client of weftd's local API (server.ts) over its unix socket: node:http only, so the overlay
// plugin stays light. Failures are typed: `unreachable` when nothing listens (weftd not running), `refused`
// when weftd answered with an error.
import type { JsonValue } from '../json/json-value.ts';

export type ApiFailure =
  | { readonly kind: 'unreachable'; readonly message: string }
  | { readonly kind: 'refused'; readonly status: number; readonly message: string };

export class ApiError extends Error {
  constructor(readonly failure: ApiFailure) {
    super(failure.message);
    this.name = 'ApiError';
  }
}

const timeoutMs = 5_000;
// The socket exists but nobody accepts on it, or it is not there at all.
const unreachableCodes = new Set(['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EACCES', 'ENOTSOCK']);

/** One request; resolves with the parsed JSON body (undefined for 204), rejects with ApiError or the socket's error. */
export function callApi(socketPath: string, method: string, path: string, body?: JsonValue): Promise<JsonValue | undefined> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    // Loaded here, when weftd is really called: node:http costs every other call (VERSION, STATUS) a start.
    const { request } = process.getBuiltinModule('node:http');
    const req = request({
      socketPath, method, path, timeout: timeoutMs,
      headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        let json: JsonValue | undefined;
        try {
          json = text === '' ? undefined : (JSON.parse(text) as JsonValue);
        } catch {
          json = undefined;
        }
        if (status >= 200 && status < 300) return resolve(json);
        const message = (json as { error?: unknown } | undefined)?.error;
        reject(new ApiError({ kind: 'refused', status, message: typeof message === 'string' ? message : `HTTP ${status}` }));
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`weftd did not answer within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      reject(err.code && unreachableCodes.has(err.code)
        ? new ApiError({ kind: 'unreachable', message: `weftd is not reachable at ${socketPath}: ${err.code}` })
        : err);
    });
    req.end(payload);
  });
}

export function endpointPath(containerId: string): string {
  return `/v1/endpoints/${encodeURIComponent(containerId)}`;
}
