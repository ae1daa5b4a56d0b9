// The local API over a real unix socket, through the plugin's client.
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../lib/json/json-value.ts';
import { Logger } from '../log.ts';
import { EndpointSet } from '../xds/endpoint-set.ts';
import { ApiError, callApi, endpointPath } from '../../lib/weftd-api/client.ts';
import { startApiServer, type ApiServer } from './server.ts';

let dir: string;
let socket: string;
let server: ApiServer | undefined;
let endpoints: EndpointSet;
let lease: JsonObject | undefined;
const log = new Logger('error', () => {});

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wt-api-'));
  socket = join(dir, 'run', 'weftd.sock');
  endpoints = new EndpointSet();
  lease = undefined;
  server = await startApiServer({ socketPath: socket, node: 'node-a', endpoints, lease: () => lease, log });
});
afterEach(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const registration = { service: 'echo', address: '10.244.3.5', ports: [{ name: 'grpc', port: 50051 }], labels: { app: 'echo' } };

async function failure(promise: Promise<unknown>): Promise<ApiError['failure']> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  if (!(err instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(err)}`);
  return err.failure;
}

describe('local API', () => {
  it('listens on a socket only root may use', () => {
    expect(statSync(socket).mode & 0o777).toBe(0o600);
  });

  it('registers, lists and deregisters endpoints, stamping its own node', async () => {
    const stored = await callApi(socket, 'PUT', endpointPath('c1'), registration);
    expect(stored).toEqual({ ...registration, ports: [{ name: 'grpc', port: 50051, protocol: 'tcp' }], containerId: 'c1', node: 'node-a', health: 'unknown' });
    await callApi(socket, 'PUT', endpointPath('c2'), { ...registration, node: 'elsewhere', address: '10.244.3.6' });
    expect([...endpoints.endpoints()].map((e) => [e.containerId, e.node])).toEqual([['c1', 'node-a'], ['c2', 'node-a']]);
    expect(await callApi(socket, 'GET', '/v1/endpoints')).toMatchObject({ endpoints: [{ containerId: 'c1' }, { containerId: 'c2' }] });
    expect(await callApi(socket, 'DELETE', endpointPath('c1'))).toBeUndefined();
    expect(await callApi(socket, 'DELETE', endpointPath('c1'))).toBeUndefined();
    expect([...endpoints.endpoints()].map((e) => e.containerId)).toEqual(['c2']);
  });

  it('answers 400 for an invalid endpoint and keeps what it had', async () => {
    expect(await failure(callApi(socket, 'PUT', endpointPath('c1'), { ...registration, service: 'Bad Name' }))).toMatchObject({ kind: 'refused', status: 400 });
    expect(await failure(callApi(socket, 'PUT', endpointPath('c1'), { ...registration, containerId: 'c9' }))).toMatchObject({ status: 400 });
    expect(await failure(callApi(socket, 'PUT', endpointPath('c1'), [1]))).toMatchObject({ status: 400 });
    expect(await failure(callApi(socket, 'PUT', endpointPath('c1'), { ...registration, padding: 'x'.repeat(70_000) }))).toMatchObject({ status: 413 });
    expect(await failure(callApi(socket, 'GET', '/v1/nothing'))).toMatchObject({ status: 404 });
    expect(await failure(callApi(socket, 'POST', endpointPath('c1')))).toMatchObject({ status: 405 });
    expect(await failure(callApi(socket, 'POST', '/v1/lease'))).toMatchObject({ status: 405 });
    expect(await failure(callApi(socket, 'PUT', '/v1/endpoints', registration))).toMatchObject({ status: 405 });
    expect(await failure(callApi(socket, 'DELETE', '/v1/endpoints/%ZZ'))).toMatchObject({ status: 400 });
    const long = await failure(callApi(socket, 'PUT', endpointPath('c'.repeat(5000)), registration));
    expect(long).toMatchObject({ status: 400 });
    expect(long.message).toMatch(/must be at most 1024 characters, got 5000/);
    expect(endpoints.size).toBe(0);
  });

  it('names the methods a known path allows', async () => {
    const answer = await new Promise<{ status: number; allow: string | undefined }>((resolve, reject) => {
      const req = request({ socketPath: socket, path: '/v1/lease', method: 'DELETE' }, (res) => {
        res.resume();
        resolve({ status: res.statusCode!, allow: res.headers.allow });
      });
      req.once('error', reject);
      req.end();
    });
    expect(answer).toEqual({ status: 405, allow: 'GET' });
  });

  it('serves the lease once there is one', async () => {
    expect(await failure(callApi(socket, 'GET', '/v1/lease'))).toMatchObject({ status: 503 });
    lease = { node: 'node-a', subnet: '10.244.3.0/24' };
    expect(await callApi(socket, 'GET', '/v1/lease')).toEqual(lease);
  });

  it('replaces a stale socket file, and the client tells an absent daemon apart', async () => {
    await server!.close();
    server = undefined;
    expect(existsSync(socket)).toBe(false);
    expect(await failure(callApi(socket, 'GET', '/v1/lease'))).toMatchObject({ kind: 'unreachable' });
    // A daemon killed without its exit's clean-up leaves its socket behind, with nobody listening.
    spawnSync(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(socket)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(existsSync(socket)).toBe(true);
    expect(await failure(callApi(socket, 'GET', '/v1/lease'))).toMatchObject({ kind: 'unreachable' });
    server = await startApiServer({ socketPath: socket, node: 'node-a', endpoints, lease: () => ({ node: 'node-a' }), log });
    expect(await callApi(socket, 'GET', '/v1/lease')).toEqual({ node: 'node-a' });
  });
});
