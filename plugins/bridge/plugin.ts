// The bridge plugin as a table of verbs for the skeleton, a drop-in for the reference bridge plugin: each
// verb reads as its steps. ADD's steps are undone in reverse when one fails, so a failed ADD leaves nothing
// behind; DEL and GC do every part they can and report the first failure.
import { CniError, ErrorCode } from '../../lib/cni/errors.ts';
import { delegateAdd, delegateCheck, delegateDel, delegateGc, delegateStatus, type DelegateOptions } from '../../lib/cni/invoke.ts';
import { ownInProcess } from '../../lib/cni/own-plugins.ts';
import { convertResult } from '../../lib/cni/result.ts';
import { definePlugin, type VerbContext } from '../../lib/cni/skel.ts';
import { runAll, runSteps, type StepOptions } from '../../lib/cni/steps.ts';
import type { Interface, Result } from '../../lib/cni/types.ts';
import { CURRENT_VERSION } from '../../lib/cni/version.ts';
import { parseCidr } from '../../lib/ip/cidr.ts';
import type { AttachmentKey } from '../../lib/nat/attachment-chain.ts';
import { addContainerMasquerade, delContainerMasquerade } from '../../lib/nat/masquerade.ts';
import { addMacSpoofCheck, delMacSpoofCheck } from '../../lib/nat/spoof-check.ts';
import { ignoreNotFound, isNetlinkError, Netlink, NetlinkBatchError, withNetlink } from '../../lib/netlink/index.ts';
import { hostLocalPlugin } from '../host-local-ipam/plugin.ts';
import {
  enableForwarding, ensureBridge, ensureGatewayAddresses, ensureVlanGateway, releaseBridge,
  releaseVlanGateway, restoreGatewayAddresses, type VlanGateway,
} from './bridge-device.ts';
import { checkAttachment } from './check.ts';
import { checkAddSettings, containerMac, parseBridgeConf, type BridgeConf, type BridgeSettings } from './config.ts';
import { configureContainer } from './container.ts';
import { collectFirewall, removeFirewall, type FirewallKinds } from './firewall.ts';
import { planGateways } from './gateways.ts';
import { attachPort, checkInterfaceFree, createVethPair, deleteHostVeth, vethAlias, waitForPort } from './veth.ts';

type Context = VerbContext<BridgeConf>;

function stepOptions(ctx: Context): StepOptions {
  const kernel = (err: unknown) => isNetlinkError(err) || err instanceof NetlinkBatchError;
  return { log: ctx.log, codeOf: (err) => (kernel(err) ? ErrorCode.KernelFailure : ErrorCode.Internal) };
}

/**
 * The IPAM plugin, when the config names one (layer 3): weft's own host-local runs in-process when CNI_PATH
 * finds its bundle first.
 */
function ipam(ctx: Context): { type: string; options: DelegateOptions } | undefined {
  if (!ctx.conf.settings.layer3) return undefined;
  const type = ctx.conf.ipam!.type!;
  const inProcess = ownInProcess(type, ctx.args.path, { 'host-local': hostLocalPlugin });
  return { type, options: { env: ctx.args.env, log: ctx.log, ...(inProcess && { inProcess }) } };
}

function attachmentKey({ conf, args }: Context): AttachmentKey {
  return { network: conf.name, containerId: args.containerId, ifName: args.ifName };
}

function firewallKinds(settings: BridgeSettings): FirewallKinds {
  return { masquerade: settings.ipMasq && settings.layer3, spoofCheck: settings.macSpoofCheck };
}

function openContainer(netns: string): Netlink {
  try {
    return Netlink.open(netns);
  } catch (err) {
    if (!isNetlinkError(err)) throw err;
    throw new CniError(ErrorCode.InvalidEnvironment, `failed to open netns "${netns}"`, err.message, { cause: err });
  }
}

async function add(ctx: Context): Promise<Result> {
  const { conf, args } = ctx;
  const settings = conf.settings;
  checkAddSettings(settings);
  // Without IPAM the result has no address, which results before 0.3.0 cannot say: refused before anything is made.
  if (!settings.layer3) convertResult({ cniVersion: CURRENT_VERSION }, conf.cniVersion);
  const mac = containerMac(settings, args.args);
  if (settings.ipMasqBackend === 'iptables' && settings.ipMasq) {
    ctx.log('bridge: ipMasqBackend "iptables": weft masquerades with nftables (the kernel tables iptables-nft uses too)');
  }
  const container = openContainer(args.netns);
  const host = Netlink.open();
  try {
    checkInterfaceFree(container, args.ifName, args.netns);
    return await runSteps(stepOptions(ctx), async (step) => {
      const delegate = ipam(ctx);
      const allocated = delegate
        ? await step.run('allocate addresses', () => delegateAdd(delegate.type, args.stdinData, delegate.options),
          () => delegateDel(delegate.type, args.stdinData, delegate.options))
        : undefined;
      if (allocated && !allocated.ips?.length) throw new CniError(ErrorCode.DelegateFailure, 'IPAM plugin returned missing IP config');
      const plan = allocated && planGateways(allocated, settings);

      const key = attachmentKey(ctx);
      const firewall = firewallKinds(settings);
      if (firewall.masquerade && plan) {
        const addresses = plan.ips.map((ip) => parseCidr(ip.address));
        await step.run('install masquerade', () => addContainerMasquerade({ ...key, addresses }), () => delContainerMasquerade(key));
      }

      const bridge = await step.run('set up bridge', () => ensureBridge(host, settings), (made) => releaseBridge(host, made));
      const veth = await step.run('create veth pair', () => {
        const peer = { name: args.ifName, namespace: args.netns, ...(mac && { mac }) };
        const hostName = createVethPair(host, peer, settings.mtu);
        return { host: host.linkByName(hostName), container: container.linkByName(args.ifName) };
      }, ({ host: port }) => ignoreNotFound(() => host.linkDel(port.index)));
      await step.run('label host veth', () => host.linkSet(veth.host.index, { alias: vethAlias(key) }));
      if (firewall.spoofCheck) {
        const port = { hostIfName: veth.host.name, mac: veth.container.mac! };
        await step.run('install MAC spoof check', () => addMacSpoofCheck({ ...key, ...port }), () => delMacSpoofCheck(key));
      }

      await step.run('attach veth to bridge', () => attachPort(host, veth.host, bridge.link.index, settings));
      let vlanGateway: VlanGateway | undefined;
      if (plan) {
        await step.run('configure container interface', () => configureContainer(container, args.netns, veth.container, plan.ips, plan.routes, settings.enableDad));
        if (plan.bridgeAddresses.length > 0) {
          const own = [veth.host.index];
          if (settings.vlan !== 0) {
            vlanGateway = await step.run('set up VLAN gateway interface', () => ensureVlanGateway(host, bridge.link, settings),
              (made) => releaseVlanGateway(host, bridge.link.index, own, made));
            if (vlanGateway.createdPort !== undefined) own.push(vlanGateway.createdPort);
          }
          const gatewayLink = vlanGateway ?? bridge.link;
          await step.run('set gateway addresses', () => ensureGatewayAddresses(host, gatewayLink, plan.bridgeAddresses, settings),
            (change) => restoreGatewayAddresses(host, bridge.link.index, own, change));
          await step.run('enable IP forwarding', () => enableForwarding(host.namespace, plan.bridgeAddresses));
        }
      } else if (!settings.disableContainerInterface) {
        await step.run('bring up container interface', () => container.linkSetUp(veth.container.index));
      }
      if (!settings.disableContainerInterface) await step.run('wait for bridge port', () => waitForPort(host, veth.host.index));

      // MACs as they are now: the host end's may change as it joins, and the bridge's is pinned.
      const interfaces: Interface[] = [
        { name: settings.bridgeName, mac: host.linkByIndex(bridge.link.index).mac! },
        { name: veth.host.name, mac: host.linkByIndex(veth.host.index).mac! },
        { name: args.ifName, mac: veth.container.mac!, sandbox: args.netns },
      ];
      if (vlanGateway) interfaces.push({ name: vlanGateway.name, ...(vlanGateway.mac && { mac: vlanGateway.mac }) });
      const result: Result = { cniVersion: CURRENT_VERSION, interfaces };
      if (plan) {
        result.ips = plan.ips;
        result.routes = plan.routes;
      }
      const dns = conf.dns ?? allocated?.dns;
      if (dns) result.dns = dns;
      return result;
    });
  } finally {
    host.close();
    container.close();
  }
}

/**
 * Deletes the container's interface (and with it the veth pair); done when the namespace or link is gone.
 * Whether it deleted one.
 */
function deleteContainerLink(netns: string, ifName: string): boolean {
  let container: Netlink;
  try {
    container = Netlink.open(netns);
  } catch (err) {
    // No such file, a file that is no network namespace (any more: unmounted), a path through a file: no
    // namespace, so no veth in it either.
    if (isNetlinkError(err, 'notFound') || isNetlinkError(err, 'invalid') || (isNetlinkError(err) && err.code === 'ENOTDIR')) return false;
    throw err;
  }
  try {
    // Only a veth is this plugin's: a name the container holds otherwise (lo, what a refused ADD clashed
    // with) is left alone, and the DEL succeeds.
    const link = ignoreNotFound(() => container.linkByName(ifName));
    if (link?.kind !== 'veth') return false;
    ignoreNotFound(() => container.linkDel(link.index));
    return true;
  } finally {
    container.close();
  }
}

async function del(ctx: Context): Promise<void> {
  const { conf, args } = ctx;
  const firewall = firewallKinds(conf.settings);
  const delegate = ipam(ctx);
  const key = attachmentKey(ctx);
  await runAll(stepOptions(ctx), [
    // Keyed by the attachment: needs neither the namespace nor the addresses, so it also cleans up after a
    // namespace that is already gone. First: the kernel's release of the deleted chains (lib/nat/nftables.ts)
    // then overlaps the link deletion.
    ['remove nftables entries', () => (firewall.masquerade || firewall.spoofCheck) && removeFirewall(key, firewall)],
    // Without the namespace (containerd's ctr never passes it on DEL), or once it is gone while a process
    // may still hold it, the host end is found by its alias.
    ['delete veth', () => {
      if (args.netns !== '' && deleteContainerLink(args.netns, args.ifName)) return;
      withNetlink(undefined, (host) => deleteHostVeth(host, key, conf.prevResult));
    }],
    ['release addresses', () => delegate && delegateDel(delegate.type, args.stdinData, delegate.options)],
  ]);
}

async function check(ctx: Context): Promise<void> {
  const { conf, args } = ctx;
  if (!conf.prevResult) throw new CniError(ErrorCode.InvalidNetworkConfig, 'required prevResult missing');
  const delegate = ipam(ctx);
  if (delegate) await delegateCheck(delegate.type, args.stdinData, delegate.options);
  const container = openContainer(args.netns);
  const host = Netlink.open();
  try {
    checkAttachment(host, container, conf.prevResult, conf.settings, args);
  } finally {
    host.close();
    container.close();
  }
}

async function gc(ctx: Context): Promise<void> {
  const { conf, args } = ctx;
  const delegate = ipam(ctx);
  const firewall = firewallKinds(conf.settings);
  await runAll(stepOptions(ctx), [
    ['collect stale addresses', () => delegate && delegateGc(delegate.type, args.stdinData, delegate.options)],
    ['collect stale nftables entries', () => {
      if (!firewall.masquerade && !firewall.spoofCheck) return;
      // Without the list every attachment would look stale.
      if (!conf.validAttachments) throw new CniError(ErrorCode.InvalidNetworkConfig, 'GC needs "cni.dev/valid-attachments"');
      return collectFirewall(conf.name, conf.validAttachments, firewall, ctx.log);
    }],
  ]);
}

async function status(ctx: Context): Promise<void> {
  const delegate = ipam(ctx);
  if (delegate) await delegateStatus(delegate.type, ctx.args.stdinData, delegate.options);
}

export const bridgePlugin = definePlugin<BridgeConf>({
  about: 'weft bridge',
  parseConfig: parseBridgeConf,
  verbs: { add, del, check, gc, status },
});
