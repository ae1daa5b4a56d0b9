// weftd's xDS server fed by the overlay plugin: containers attached with the built plugin register as
// endpoints of "echo"; a real, independent xDS client (@grpc/grpc-js-xds, in the host's namespace)
// resolves xds:///echo against weftd and load-balances real gRPC calls to servers running inside the
// container namespaces; adding and removing a container moves the calls.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { XdsClientProcess } from '../../daemon/xds/testing/xds-client.ts';
import { describeFailure } from './testing/command.ts';
import { createNetns, type Netns } from './testing/netns.ts';
import { cleanupAfterAll, describeAsRoot } from './testing/suite.ts';
import { eventually } from './testing/overlay.ts';
import { attachmentVars, overlayConfig, runOverlay, startOverlayNode, type OverlayNode } from './testing/overlay-plugin.ts';
import { NetnsProcess } from './testing/overlay-processes.ts';

cleanupAfterAll();

const backendScript = fileURLToPath(new URL('./testing/xds-backend-process.mjs', import.meta.url));
const port = 50051;
const args = `IgnoreUnknown=1;WEFT_SERVICE=echo;WEFT_PORTS=grpc:${port}`;

function tally(results: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

describeAsRoot('xDS over the overlay: gRPC clients follow containers as the plugin adds and removes them', () => {
  let node: OverlayNode;
  let client: XdsClientProcess | undefined;
  const containers: Netns[] = [];
  const backends: NetnsProcess[] = [];

  /** A container namespace with its gRPC server (named `b<i>`) already listening, then attached. */
  async function addContainer(i: number): Promise<void> {
    const ns = createNetns('oc');
    containers[i] = ns;
    const backend = await NetnsProcess.start(ns, [process.execPath, backendScript, `b${i}`, String(port)]);
    backends[i] = backend;
    await eventually(`backend b${i} bound`, () => backend.stderr.includes('ready'));
    const out = runOverlay(node.host.netns, attachmentVars('ADD', `ctr${i}`, ns, args), overlayConfig(node));
    expect(out.status, describeFailure(out)).toBe(0);
  }

  /** As a runtime removes a container: its processes stop first, then the network is torn down. */
  async function removeContainer(i: number): Promise<void> {
    await backends[i]!.stop();
    const out = runOverlay(node.host.netns, attachmentVars('DEL', `ctr${i}`, containers[i]!, args), overlayConfig(node));
    expect(out.status, describeFailure(out)).toBe(0);
  }

  beforeAll(async () => {
    node = await startOverlayNode({ xdsListen: '127.0.0.1:18000' });
    await addContainer(0);
    await addContainer(1);
    client = await XdsClientProcess.start('127.0.0.1:18000', 'echo', 'overlay-test', node.host.netns.name);
  }, 60_000);

  afterAll(async () => {
    await client?.stop();
    for (const backend of backends) await backend.stop();
    await node?.daemon.stop();
  });

  it('load-balances calls over both containers', async () => {
    const counts = tally(await client!.calls(40));
    expect(Object.keys(counts).sort()).toEqual(['b0', 'b1']);
    expect(counts.b0).toBeGreaterThanOrEqual(10);
    expect(counts.b1).toBeGreaterThanOrEqual(10);
  }, 20_000);

  it('sends calls to an added container and away from a removed one', async () => {
    const watching = await client!.watch();
    await addContainer(2);
    await client!.callsUntil((batch) => batch.includes('b2'));
    // Adding a container disturbs nothing: every call made while it was added and served is answered.
    const duringAdd = await watching.stop();
    expect(duringAdd.length).toBeGreaterThan(0);
    expect(duringAdd.filter((who) => who.startsWith('error'))).toEqual([]);

    await removeContainer(0);
    await client!.callsUntil((batch) => !batch.some((who) => who === 'b0' || who.startsWith('error')));
    expect(Object.keys(tally(await client!.calls(30))).sort()).toEqual(['b1', 'b2']);
  }, 60_000);
});
