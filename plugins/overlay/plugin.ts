// The overlay plugin (type "overlay"), in the manner of flannel's CNI plugin: it reads this node's lease from
// weftd's state file (lease.ts), generates a bridge config for it (bridge-config.ts) and runs weft's bridge
// plugin in-process with it (the bridge runs weft's host-local the same way). The generated config is saved
// per attachment, so DEL and CHECK undo and check exactly what ADD did after the lease changed. Every
// container is registered with weftd as an endpoint (endpoint-request.ts): weftd names it in DNS, and
// serves those that name a service over xDS.
//
// Without a usable lease (weftd has not started or not yet acquired one) ADD answers code 11 and STATUS code 50.
// When weftd's socket does not answer, ADD still succeeds: the endpoint is in the saved file and weftd
// registers the saved endpoints again when it starts (daemon/api/saved-endpoints.ts), so a daemon restart
// never fails a container's start. DEL likewise never waits on weftd to clean up: see `deregister`.
import { ApiError, callApi, endpointPath } from '../../lib/weftd-api/client.ts';
import { CniError, ErrorCode } from '../../lib/cni/errors.ts';
import { delegateAdd, delegateCheck, delegateDel, delegateGc, delegateStatus, type DelegateOptions } from '../../lib/cni/invoke.ts';
import { definePlugin, type VerbContext } from '../../lib/cni/skel.ts';
import { runSteps } from '../../lib/cni/steps.ts';
import type { Result } from '../../lib/cni/types.ts';
import type { JsonObject, JsonValue } from '../../lib/json/json-value.ts';
import { bridgePlugin } from '../bridge/plugin.ts';
import { bridgeConfig } from './bridge-config.ts';
import { parseOverlayConf, type OverlayConf } from './config.ts';
import { delegateCniArgs, endpointPlan, endpointRequest } from './endpoint-request.ts';
import { readLease } from './lease.ts';
import { readSaved, readSavedFile, removeSaved, savedFiles, savedPath, writeSaved, type AttachmentName } from '../../lib/weftd-api/saved-attachment.ts';
import { withWeftDns } from './result-dns.ts';

type Context = VerbContext<OverlayConf>;

/** The bridge plugin, in-process, with the caller's environment minus the overlay's own CNI_ARGS keys. */
function bridgeOptions(ctx: Context, env: Record<string, string> = {}): DelegateOptions {
  return {
    env: { ...ctx.args.env, CNI_ARGS: delegateCniArgs(ctx.args.args), ...env },
    log: ctx.log,
    inProcess: { bridge: bridgePlugin },
  };
}

function attachmentName(ctx: Context): AttachmentName {
  return { containerId: ctx.args.containerId, ifName: ctx.args.ifName };
}

/** Runs a call to weftd; when weftd is not running, logs and goes on (it reconciles when it starts). */
async function toWeftd(ctx: Context, what: string, call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (err) {
    if (err instanceof ApiError && err.failure.kind === 'unreachable') {
      ctx.log(`overlay: ${what} skipped: ${err.message}`);
      return;
    }
    if (err instanceof ApiError && err.failure.kind === 'refused' && err.failure.status === 400) {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `weftd refused to ${what}`, err.message, { cause: err });
    }
    throw new CniError(ErrorCode.TryAgainLater, `failed to ${what}`, (err as Error).message, { cause: err });
  }
}

/**
 * A saved attachment is live (or its DEL is still due): a second ADD for it is refused before anything, as
 * the bridge refuses an interface the container already has, so undoing this ADD never touches it.
 */
async function refuseSaved(ctx: Context, name: AttachmentName): Promise<void> {
  const { dataDir } = ctx.conf.overlay;
  if (await readSaved(dataDir, name)) {
    throw new CniError(ErrorCode.KernelFailure, `interface "${name.ifName}" in ${ctx.args.netns} already exists`,
      `the overlay attachment ${name.containerId}/${name.ifName} is saved in ${savedPath(dataDir, name)}: DEL it first`);
  }
}

async function add(ctx: Context): Promise<Result> {
  const { conf, args } = ctx;
  const { dataDir, socket } = conf.overlay;
  const name = attachmentName(ctx);
  // Everything ADD reads is checked first: a bad value must not surface after the container is attached.
  const plan = endpointPlan(conf, args.args, args.containerId);
  await refuseSaved(ctx, name);
  const lease = await readLease(conf.overlay.subnetFile, ErrorCode.TryAgainLater);
  const bridge = bridgeConfig(conf, lease);
  const stdin = JSON.stringify(bridge);
  return runSteps({ log: ctx.log }, async (step) => {
    await step.run('save the generated bridge config', () => writeSaved(dataDir, name, { bridge }), () => removeSaved(dataDir, name));
    const result = await step.run('attach to the bridge', () => delegateAdd('bridge', stdin, bridgeOptions(ctx)),
      () => delegateDel('bridge', stdin, bridgeOptions(ctx)));
    const endpoint = endpointRequest(plan, result);
    await step.run('save the endpoint', () => writeSaved(dataDir, name, { bridge, endpoint }));
    await step.run('register the endpoint', () => toWeftd(ctx, 'register the endpoint',
      () => callApi(socket, 'PUT', endpointPath(args.containerId), endpoint)));
    return withWeftDns(result, lease);
  });
}

/**
 * DEL's deregistration, which never keeps DEL from cleaning up or from succeeding. Whatever weftd answers,
 * DEL removes the saved record, so no weftd (re)start registers the endpoint again: it restores only saved
 * ones. A weftd that fails or hangs keeps serving it until it restarts or a GC collects it; that is logged,
 * not an error: the attachment is gone, and a failing DEL would hold up the container's removal in retries.
 */
async function deregister(ctx: Context): Promise<void> {
  try {
    await callApi(ctx.conf.overlay.socket, 'DELETE', endpointPath(ctx.args.containerId));
  } catch (err) {
    const unreachable = err instanceof ApiError && err.failure.kind === 'unreachable';
    ctx.log(`overlay: deregister the endpoint ${unreachable ? 'skipped' : 'failed (weftd serves it until it restarts or a GC)'}: ${(err as Error).message}`);
  }
}

async function del(ctx: Context): Promise<void> {
  const { dataDir } = ctx.conf.overlay;
  const name = attachmentName(ctx);
  await deregister(ctx);
  const saved = await readSaved(dataDir, name);
  // No saved config: ADD never got as far (or was killed while saving it), or DEL already ran. Nothing to undo.
  if (saved) await delegateDel('bridge', JSON.stringify(saved.bridge), bridgeOptions(ctx));
  await removeSaved(dataDir, name);
}

async function check(ctx: Context): Promise<void> {
  const saved = await readSaved(ctx.conf.overlay.dataDir, attachmentName(ctx));
  if (!saved) throw new CniError(ErrorCode.UnknownContainer, `no overlay attachment saved for ${ctx.args.containerId}/${ctx.args.ifName}`);
  // The previous result as the runtime sent it, in the config's own version.
  const prevResult = (JSON.parse(ctx.args.stdinData) as JsonObject).prevResult;
  await delegateCheck('bridge', JSON.stringify({ ...saved.bridge, ...(prevResult !== undefined ? { prevResult } : {}) }), bridgeOptions(ctx));
}

function validKeys(conf: OverlayConf): Set<string> {
  if (!conf.validAttachments) throw new CniError(ErrorCode.InvalidNetworkConfig, 'GC needs "cni.dev/valid-attachments"');
  return new Set(conf.validAttachments.map((a) => `${a.containerID}@${a.ifname}`));
}

/**
 * GC: attachments saved but not valid any more are deleted as DEL would (without a namespace: it is gone),
 * endpoints of containers not valid are deregistered, and the bridge collects what is left with the current
 * lease's config.
 */
async function gc(ctx: Context): Promise<void> {
  const { conf } = ctx;
  const { dataDir, socket } = conf.overlay;
  const valid = validKeys(conf);
  const validContainers = new Set(conf.validAttachments!.map((a) => a.containerID));
  for (const file of await savedFiles(dataDir)) {
    const found = await readSavedFile(dataDir, file);
    if (!found || valid.has(`${found.name.containerId}@${found.name.ifName}`)) continue;
    const { name, saved } = found;
    await delegateDel('bridge', JSON.stringify(saved.bridge),
      bridgeOptions(ctx, { CNI_COMMAND: 'DEL', CNI_CONTAINERID: name.containerId, CNI_IFNAME: name.ifName, CNI_NETNS: '' }));
    await removeSaved(dataDir, name);
  }
  await toWeftd(ctx, 'collect stale endpoints', async () => {
    const listed = await callApi(socket, 'GET', '/v1/endpoints') as { endpoints?: JsonValue[] } | undefined;
    for (const endpoint of listed?.endpoints ?? []) {
      const id = (endpoint as { containerId?: unknown }).containerId;
      if (typeof id === 'string' && !validContainers.has(id)) await callApi(socket, 'DELETE', endpointPath(id));
    }
  });
  const lease = await readLease(conf.overlay.subnetFile, ErrorCode.PluginNotAvailable).catch((err: Error) => {
    ctx.log(`overlay: the bridge's GC skipped: ${err.message}`);
  });
  if (!lease) return;
  const bridge = { ...bridgeConfig(conf, lease), 'cni.dev/valid-attachments': conf.validAttachments as unknown as JsonValue };
  await delegateGc('bridge', JSON.stringify(bridge), bridgeOptions(ctx));
}

async function status(ctx: Context): Promise<void> {
  const lease = await readLease(ctx.conf.overlay.subnetFile, ErrorCode.PluginNotAvailable);
  await delegateStatus('bridge', JSON.stringify(bridgeConfig(ctx.conf, lease)), bridgeOptions(ctx));
}

export const overlayPlugin = definePlugin<OverlayConf>({
  about: 'weft overlay',
  parseConfig: parseOverlayConf,
  verbs: { add, del, check, gc, status },
});
