// A plugin killed at any system call of its ADD or DEL (before each netlink request, each call on the IPAM
// store, and for the overlay each call on its saved attachment), then DEL'd as a runtime retries: nothing is
// left, and the one address of the range is free again. The kill points come from a dry run under strace
// (harness/kill-points.ts). The bridge, its gateway address and the empty nftables table are shared by
// every attachment and stay, as after any DEL: one ADD and DEL make them before the snapshot.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { BridgeHost, createContainer, hostState, network, weftBinDir, type Attachment, type Command } from './testing/bridge.ts';
import { describeFailure, type CommandResult } from './testing/command.ts';
import { createTempDir } from './testing/files.ts';
import { killAt, killPoints, traceInto, type SyscallFilter } from './testing/kill-points.ts';
import { createNetns } from './testing/netns.ts';
import { cleanupAfterAll, describeAsRoot } from './testing/suite.ts';
import { attachmentVars, runOverlay } from './testing/overlay-plugin.ts';

cleanupAfterAll();

// The calls that change a store, open(O_CREAT) aside (a write follows each at once). A kill at a read leaves
// what a kill at the next change does.
const fileChanges = 'mkdir,write,link,unlink,rename,renameat,renameat2,fsync';
const netlinkSends: SyscallFilter = { syscalls: 'sendto,sendmsg' };

/** Every file of an IPAM store that a reserve of `address` touches: the kill points' -P paths. */
function storeFilter(storeDir: string, address: string): SyscallFilter {
  return { syscalls: fileChanges, paths: [storeDir, ...[address, '.reserving', 'last_reserved_ip.0', 'lock'].map((file) => join(storeDir, file))] };
}

interface Scenario {
  /** Runs a verb of the plugin under test, wrapped (strace) or not. */
  run(command: Command, wrapper?: readonly string[]): CommandResult;
  /** What must be as it was after every killed call and the DEL that follows it. */
  state(): unknown;
  filters: Record<string, SyscallFilter>;
}

function must(result: CommandResult): void {
  expect(result.status, describeFailure(result)).toBe(0);
}

/** Kills ADD, then DEL, at each call the filters select, DELs after each kill, and compares with the state before. */
function killEverywhere(scenario: Scenario): void {
  must(scenario.run('ADD'));
  must(scenario.run('DEL'));
  const before = scenario.state();
  const log = join(createTempDir('kill'), 'dry-run');
  for (const verb of ['ADD', 'DEL'] as const) {
    for (const [what, filter] of Object.entries(scenario.filters)) {
      if (verb === 'DEL') must(scenario.run('ADD'));
      must(scenario.run(verb, traceInto(log, filter)));
      if (verb === 'ADD') must(scenario.run('DEL'));
      const points = killPoints(log);
      let killed = 0;
      for (const point of points) {
        if (verb === 'DEL') must(scenario.run('ADD'));
        if (scenario.run(verb, killAt(point, filter)).signal === 'SIGKILL') killed++;
        must(scenario.run('DEL'));
        expect(scenario.state(), `${verb} killed at ${what} call ${point.syscall} #${point.nth}: ${point.call}`).toEqual(before);
      }
      expect(killed, `${verb}: kills at ${what} calls`).toBeGreaterThan(points.length / 2);
    }
  }
}

describeAsRoot('a plugin killed in the middle of ADD or DEL: a DEL after it leaves nothing', () => {
  it('bridge with host-local, masquerade and MAC spoof check', () => {
    const host = new BridgeHost();
    const container = createContainer();
    const attachment: Attachment = { containerId: 'killed', netns: container };
    // One address: a leaked one would also fail the next ADD.
    const config = host.config({
      isDefaultGateway: true, ipMasq: true, macspoofchk: true,
      ipam: { type: 'host-local', subnet: '10.77.0.0/24', rangeStart: '10.77.0.2', rangeEnd: '10.77.0.2' },
    });
    killEverywhere({
      run: (command, wrapper = []) => host.run(command, attachment, config, { wrapper }),
      state: () => hostState(host, container),
      filters: { store: storeFilter(join(host.dataDir, network), '10.77.0.2'), netlink: netlinkSends },
    });
  }, 600_000);

  // The overlay runs the same bridge code in-process: its netlink calls are the case above's.
  it('overlay: its saved attachment and its host-local store', () => {
    const hostNetns = createNetns('kh');
    hostNetns.ip('link', 'set', 'lo', 'up');
    const container = createContainer();
    const dir = createTempDir('killov');
    const savedDir = join(dir, 'saved');
    const ipamDir = join(dir, 'ipam');
    // A /30 leaves one address besides the gateway; no weftd: the overlay attaches without it.
    writeFileSync(join(dir, 'subnet.env'), 'WEFT_NETWORK=10.244.0.0/16\nWEFT_SUBNET=10.244.3.1/30\nWEFT_MTU=1450\nWEFT_IPMASQ=false\n');
    const config = {
      cniVersion: '1.1.0', name: network, type: 'overlay', subnetFile: join(dir, 'subnet.env'), dataDir: savedDir,
      socket: join(dir, 'absent.sock'), ipamDataDir: ipamDir, delegate: { macspoofchk: true },
    };
    const store = new BridgeHost(weftBinDir, { netns: hostNetns, dataDir: ipamDir });
    const savedFiles = () => {
      try {
        return readdirSync(savedDir);
      } catch {
        return [];
      }
    };
    killEverywhere({
      run: (command, wrapper = []) => runOverlay(hostNetns, attachmentVars(command, 'killed', container), config, wrapper),
      state: () => ({ host: hostState(store, container), saved: savedFiles() }),
      filters: {
        store: storeFilter(join(ipamDir, network), '10.244.3.2'),
        saved: { syscalls: fileChanges, paths: [savedDir, join(savedDir, 'killed@eth0.json')] },
      },
    });
  }, 600_000);
});
