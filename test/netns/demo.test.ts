// The demo scripts (the README's main commands) run as a user runs them, as root: each must exit 0 and
// print the lines that show it worked (pings answered, endpoints listed), and leave no namespace or
// program behind, also when interrupted half way.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot } from './testing/cni.ts';
import { describeAsRoot } from './testing/suite.ts';

interface DemoRun {
  readonly code: number | null;
  readonly output: string;
  /** Scratch folders (/tmp/weft-demo-*) that appeared during the run and are still there. */
  readonly leftFolders: string[];
}

const scratchFolders = () => readdirSync('/tmp').filter((name) => name.startsWith('weft-demo-'));

/**
 * Runs `demo/<script>`; with `interruptWhen`, sends SIGINT (a terminal's Ctrl-C) once the output holds
 * that text, after calling `beforeInterrupt`.
 */
function runDemo(script: string, interruptWhen?: string, beforeInterrupt?: () => void): Promise<DemoRun> {
  const before = new Set(scratchFolders());
  return new Promise((resolve, reject) => {
    // A process group of its own, as a terminal gives a command: Ctrl-C reaches the script and whatever it
    // runs in the foreground.
    const child = spawn('bash', [join(repoRoot, 'demo', script)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    let interrupted = false;
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (interruptWhen && !interrupted && output.includes(interruptWhen)) {
        interrupted = true;
        beforeInterrupt?.();
        process.kill(-child.pid!, 'SIGINT');
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output, leftFolders: scratchFolders().filter((f) => !before.has(f)) }));
  });
}

/** The demo's namespaces: every name printed that starts with "wtd" and still exists. */
function leftNamespaces(output: string): string[] {
  const names = new Set(output.match(/\bwtd[a-z0-9]+/g) ?? []);
  return [...names].filter((name) => existsSync(`/run/netns/${name}`));
}

/** Processes whose command line names a demo scratch folder (the daemons, etcd). */
function demoProcesses(): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('/tmp/weft-demo-');
    } catch {
      return false;
    }
  }).map(Number);
}

const alive = (pid: number) => existsSync(`/proc/${pid}`);

describeAsRoot('demo scripts', () => {
  it('demo/overlay.sh: containers on three hosts ping across VXLAN and weftd serves them over xDS', async () => {
    const { code, output, leftFolders } = await runDemo('overlay.sh');
    expect(code, output).toBe(0);
    // Each container pings the next host's container on IPv4 and IPv6.
    const pings = output.match(/^wtdc\S+ \(node-\d\) → \S+: \d+\/\d+ answered/gm) ?? [];
    expect(pings, output).toHaveLength(6);
    expect(pings.some((line) => / → [0-9a-f]*:[0-9a-f:]+: /.test(line)), output).toBe(true);
    // The ADS client lists the service's endpoints on node-1: one per container, each in its node's
    // locality; the other two nodes serve the same three.
    const endpoints = output.match(/^ {4}10\.244\.\d+\.\d+:8080 +locality node-\d +HEALTHY/gm) ?? [];
    expect(endpoints, output).toHaveLength(3);
    expect(new Set(endpoints.map((line) => /node-\d/.exec(line)![0])).size).toBe(3);
    expect(output.match(/^weftd on node-[23]: xDS at \S+: 1 service, 3 endpoints$/gm) ?? [], output).toHaveLength(2);
    // A proxyless gRPC client resolving xds:///web has its calls answered by the servers in all three
    // containers, across the overlay.
    const answered = output.match(/^ {2}wtdc\S+ on node-\d: \d+$/gm) ?? [];
    expect(answered, output).toHaveLength(3);
    expect(answered.reduce((sum, line) => sum + Number(line.split(': ')[1]), 0)).toBe(30);
    // A container on node-3 resolves the service through weftd's DNS (its resolv.conf from the result) and
    // calls it, and the container on node-1 by the name its address's PTR gives, over HTTP.
    expect(output).toMatch(/^dig \+search web: (10\.244\.\d+\.\d+ ){3}$/m);
    expect(output).toMatch(/^curl http:\/\/web:8081\/ → hello from wtdc\S+ on node-\d$/m);
    expect(output).toMatch(/^curl http:\/\/cnitool-[0-9a-f]+\.web\.weft\.internal:8081\/ → hello from wtdc\S+ on node-1$/m);
    // Every node's status shows its two peers probed and healthy.
    expect(output.match(/^node-\d +10\.244\.\d+\.0\/24 .* vxlan +healthy/gm) ?? [], output).toHaveLength(6);
    // After DEL no endpoint is left anywhere.
    expect(output.match(/^weftd on node-\d: xDS at \S+: 0 services, 0 endpoints$/gm) ?? [], output).toHaveLength(3);
    expect(output).toMatch(/^overlay demo: 3 hosts, 3 containers, 6\/6 cross-host pings answered, every node serving all 3 endpoints over xDS, gRPC calls answered on all 3 hosts, web resolved by name and called over HTTP 2 times; done in \d+ s$/m);
    expect(leftNamespaces(output)).toEqual([]);
    expect(leftFolders).toEqual([]);
  }, 120_000);

  it('demo/bridge.sh: two containers ping each other and the outside through masquerade', async () => {
    const { code, output, leftFolders } = await runDemo('bridge.sh');
    expect(code, output).toBe(0);
    expect(output.match(/^wtda\S+ → \S+: \d+\/\d+ answered/gm) ?? [], output).toHaveLength(4);
    expect(output).toMatch(/^bridge demo: 2 containers, 4\/4 pings answered/m);
    expect(leftNamespaces(output)).toEqual([]);
    expect(leftFolders).toEqual([]);
  }, 120_000);

  it('demo/overlay.sh interrupted with Ctrl-C leaves no namespace or program behind', async () => {
    let running: number[] = [];
    const { code, output, leftFolders } = await runDemo('overlay.sh', '== cross-host pings', () => {
      running = demoProcesses();
    });
    expect(code, output).toBe(130);
    // weftd on three hosts and etcd were running when the demo was interrupted.
    expect(running.length, output).toBeGreaterThanOrEqual(4);
    expect(running.filter(alive)).toEqual([]);
    expect(leftNamespaces(output)).toEqual([]);
    expect(leftFolders).toEqual([]);
  }, 120_000);
});
