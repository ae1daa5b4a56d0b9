// The built overlay plugin where things go wrong, on a host namespace without weftd (the lease written by
// hand): a repeated ADD leaves the live attachment alone, DEL cleans up whatever weftd answers, container
// IDs of any length, and a lease no container fits in.
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeAll, expect, it } from 'vitest';
import { describeFailure } from './testing/command.ts';
import { createTempDir } from './testing/files.ts';
import { createNetns, type Netns } from './testing/netns.ts';
import { cleanupAfterAll, describeAsRoot } from './testing/suite.ts';
import { attachmentVars, runOverlay } from './testing/overlay-plugin.ts';

cleanupAfterAll();

const lease = 'WEFT_NETWORK=10.244.0.0/16\nWEFT_SUBNET=10.244.3.1/24\nWEFT_MTU=1450\nWEFT_IPMASQ=true\n';
const service = 'WEFT_SERVICE=echo;WEFT_PORTS=grpc:50051';

/** A weftd that answers every request with HTTP 500, or never answers; in a thread, since the plugin runs synchronously. */
async function fakeWeftd(socket: string, behaviour: 'error' | 'silent'): Promise<Worker> {
  const worker = new Worker(`
    const { createServer } = require('node:http');
    const { parentPort, workerData } = require('node:worker_threads');
    createServer((req, res) => {
      if (workerData.behaviour === 'error') res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"internal error"}');
    }).listen(workerData.socket, () => parentPort.postMessage('listening'));
  `, { eval: true, workerData: { socket, behaviour } });
  await once(worker, 'message');
  return worker;
}

describeAsRoot('overlay plugin failures without weftd', () => {
  let host: Netns;
  let dir: string;
  let worker: Worker | undefined;

  beforeAll(() => {
    host = createNetns('op');
    dir = createTempDir('ovfail');
    writeFileSync(join(dir, 'subnet.env'), lease);
  });

  afterEach(async () => {
    await worker?.terminate();
    worker = undefined;
  });

  const dataDir = () => join(dir, 'saved');
  const config = (extra: object = {}) => ({
    cniVersion: '1.1.0', name: 'wtov', type: 'overlay',
    subnetFile: join(dir, 'subnet.env'), dataDir: dataDir(), socket: join(dir, 'absent.sock'), ipamDataDir: join(dir, 'ipam'), ...extra,
  });
  const overlay = (command: string, id: string, container: Netns, extra: object = {}) =>
    runOverlay(host, attachmentVars(command, id, container, service), config(extra));
  const files = (path: string) => (existsSync(path) ? readdirSync(path) : []);
  const saved = () => files(dataDir());
  const reserved = () => files(join(dir, 'ipam', 'wtov')).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));

  /** Nothing of any attachment is left: no container interface, host veth, address or saved record. */
  function expectNothingLeft(container: Netns): void {
    expect(container.ipJson<Array<{ ifname: string }>>('link', 'show').map((l) => l.ifname)).toEqual(['lo']);
    expect(host.ipJson('link', 'show', 'type', 'veth')).toEqual([]);
    expect(reserved()).toEqual([]);
    expect(saved()).toEqual([]);
  }

  it('a repeated ADD is refused and leaves the live attachment to DEL', () => {
    const container = createNetns('oc');
    const first = overlay('ADD', 'ctr1', container);
    expect(first.status, describeFailure(first)).toBe(0);
    const again = overlay('ADD', 'ctr1', container);
    expect(again.status).toBe(1);
    expect(JSON.parse(again.stdout)).toMatchObject({ code: 100, msg: `interface "eth0" in ${container.path} already exists` });
    expect(saved()).toEqual(['ctr1@eth0.json']);
    expect(reserved()).toHaveLength(1);
    const del = overlay('DEL', 'ctr1', container);
    expect(del.status, describeFailure(del)).toBe(0);
    expectNothingLeft(container);
  });

  it.each([
    ['answers HTTP 500', 'error', /HTTP 500|internal error/],
    ['never answers', 'silent', /did not answer within 5000 ms/],
    ['has a socket path under a regular file', 'enotdir', /ENOTDIR/],
  ] as const)('DEL cleans up and succeeds when weftd %s, leaving no endpoint to register again', async (_, behaviour, logged) => {
    const container = createNetns('oc');
    const add = overlay('ADD', 'ctr2', container);
    expect(add.status, describeFailure(add)).toBe(0);
    let socket = join(dir, `${behaviour}.sock`);
    if (behaviour === 'enotdir') {
      writeFileSync(join(dir, 'regular'), '');
      socket = join(dir, 'regular', 'weftd.sock');
    } else {
      worker = await fakeWeftd(socket, behaviour);
    }
    const del = overlay('DEL', 'ctr2', container, { socket });
    expect(del.status, describeFailure(del)).toBe(0);
    expect(del.stderr).toMatch(logged);
    // No saved record: a weftd starting later has no endpoint of ctr2 to register again.
    expectNothingLeft(container);
  }, 20_000);

  it('attaches containers whose IDs are longer than a file name may be; DEL and GC remove them; DEL of one never added succeeds', () => {
    const first = createNetns('oc');
    const second = createNetns('oc');
    const id = `c${'0123456789abcdef'.repeat(15)}`;
    for (const add of [overlay('ADD', id, first), overlay('ADD', `${id}2`, second)]) expect(add.status, describeFailure(add)).toBe(0);
    expect(saved()).toHaveLength(2);
    const del = overlay('DEL', id, first);
    expect(del.status, describeFailure(del)).toBe(0);
    const gc = runOverlay(host, { CNI_COMMAND: 'GC' }, config({ 'cni.dev/valid-attachments': [] }));
    expect(gc.status, describeFailure(gc)).toBe(0);
    // GC, which has no namespace, releases the address and forgets the record; the veth goes with the container.
    second.remove();
    expectNothingLeft(first);
    const never = overlay('DEL', 'x'.repeat(300), first);
    expect(never.status, describeFailure(never)).toBe(0);
  });

  it('refuses a lease with no room for a container as unusable, before anything is made', () => {
    const container = createNetns('oc');
    const subnetFile = join(dir, 'lease-32', 'subnet.env');
    mkdirSync(join(dir, 'lease-32'));
    writeFileSync(subnetFile, lease.replace('/24', '/32'));
    const out = overlay('ADD', 'ctr3', container, { subnetFile });
    expect(out.status).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject({ code: 11, msg: "weftd's subnet lease is unusable", details: expect.stringMatching(/WEFT_SUBNET 10\.244\.3\.1\/32/) });
    expectNothingLeft(container);
  });
});
