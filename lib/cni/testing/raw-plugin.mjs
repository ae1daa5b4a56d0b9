#!/usr/bin/env node
// A stand-in plugin executable for invoke.test.ts, deliberately not built on skel.ts so it can misbehave
// in every way a foreign plugin might. WEFT_TEST_PLUGIN (JSON) says, per CNI_COMMAND (or "*"), what to do:
//   { "record": "/tmp/file", "stdout": "text" | {json}, "stderr": "text", "exitCode": 2, "signal": "SIGKILL" }
// "record" writes the environment and stdin it received there, so tests can see what a delegate got.
import { readFileSync, writeFileSync } from 'node:fs';

const stdin = readFileSync(0, 'utf8');
const behaviours = JSON.parse(process.env.WEFT_TEST_PLUGIN ?? '{}');
const act = behaviours[process.env.CNI_COMMAND ?? ''] ?? behaviours['*'] ?? {};
if (act.record) writeFileSync(act.record, JSON.stringify({ env: process.env, stdin }));
if (act.stderr) process.stderr.write(act.stderr);
if (act.stdout !== undefined) process.stdout.write(typeof act.stdout === 'string' ? act.stdout : JSON.stringify(act.stdout));
if (act.signal) process.kill(process.pid, act.signal);
process.exitCode = act.exitCode ?? 0;
