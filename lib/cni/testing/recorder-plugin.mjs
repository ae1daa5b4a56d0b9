// A trivial CNI plugin for tests of runtimes (the weft CLI). Plain JavaScript with no imports from the
// project, so it checks what a runtime sends independently of lib/cni. It appends one JSON line per call
// ({ command, env, config }) to the file named by the config's "record" key, and behaves as told by
// its config:
//   "interface": true        ADD adds { name: CNI_IFNAME, sandbox: CNI_NETNS } to the result
//   "address": "10.1.2.3/24" ADD adds this IP to the result (on the interface it added, if any)
//   "requirePrevResult": true ADD, CHECK and DEL fail with code 7 unless prevResult is present
//   "loopbackUp": true       ADD sets lo up inside CNI_NETNS, CHECK fails unless it is up, DEL sets it down
//   "fail": "ADD"            that command fails with code 11
import { appendFileSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const supportedVersions = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];
const command = process.env.CNI_COMMAND ?? '';

function finish(code, output) {
  if (output !== undefined) process.stdout.write(`${JSON.stringify(output)}\n`);
  process.exit(code);
}

function fail(cniVersion, code, msg) {
  finish(1, { cniVersion, code, msg });
}

if (command === 'VERSION') finish(0, { cniVersion: '1.1.0', supportedVersions });

let config;
try {
  config = JSON.parse(readFileSync(0, 'utf8'));
} catch (err) {
  fail('1.1.0', 6, `recorder: bad stdin: ${err.message}`);
}
const version = config.cniVersion ?? '0.1.0';
if (!supportedVersions.includes(version)) fail('1.1.0', 1, `recorder: unsupported cniVersion ${version}`);
if (typeof config.record !== 'string') fail(version, 7, 'recorder: "record" missing');

appendFileSync(config.record, `${JSON.stringify({ command, env: process.env, config })}\n`);

if (config.fail === command) fail(version, 11, `recorder: told to fail ${command}`);
const attachmentCommand = ['ADD', 'CHECK', 'DEL'].includes(command);
if (attachmentCommand && config.requirePrevResult && config.prevResult === undefined) {
  fail(version, 7, `recorder: ${command} without prevResult`);
}

function inNetns(...args) {
  return execFileSync('nsenter', [`--net=${process.env.CNI_NETNS}`, ...args], { encoding: 'utf8' });
}

if (command === 'ADD') {
  const result = config.prevResult ?? { interfaces: [], ips: [] };
  result.cniVersion = version;
  result.interfaces ??= [];
  result.ips ??= [];
  if (config.loopbackUp) inNetns('ip', 'link', 'set', 'lo', 'up');
  if (config.interface) result.interfaces.push({ name: process.env.CNI_IFNAME, sandbox: process.env.CNI_NETNS });
  if (config.address) {
    const ip = { address: config.address };
    if (config.interface) ip.interface = result.interfaces.length - 1;
    result.ips.push(ip);
  }
  finish(0, result);
}
if (command === 'CHECK' && config.loopbackUp) {
  const [lo] = JSON.parse(inNetns('ip', '-j', 'link', 'show', 'lo'));
  if (!lo.flags.includes('UP')) fail(version, 100, 'recorder: lo is not up');
}
if (command === 'DEL' && config.loopbackUp) {
  try {
    inNetns('ip', 'link', 'set', 'lo', 'down');
  } catch {
    // DEL must succeed when the namespace is already gone.
  }
}
finish(0);
