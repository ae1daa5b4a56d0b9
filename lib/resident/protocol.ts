// The wire protocol between a plugin launcher (native/launcher.c, the executable a runtime starts) and the
// plugin host in weftd (daemon/plugin-host/), over a unix stream socket. Both sides live by this file; the
// launcher's C mirrors its constants.
//
// One call, one connection:
//   launcher -> weftd   REQUEST  the call as the plugin process would have it: protocol version, the
//                                launcher's build, the plugin's name, the whole environment, stdin
//   weftd -> launcher   DECLINE  "not here" (another build, another host or view of the files, not root):
//                                nothing ran, the launcher runs the Node plugin itself
//                  or   PENDING  the call is about to run: the error JSON (code 11) the launcher prints if
//                                weftd vanishes before RESULT, so a half-run call reads as "try again"
//                       RESULT   exit code, stderr and stdout, written by the launcher unchanged
//                  or   ERROR    a malformed request (logged by weftd); the launcher falls back
//
// A frame is a 4-byte big-endian length (of what follows), a 1-byte type and its payload. Every frame is
// bounded (maxFrameBytes); strings inside are a 4-byte big-endian length and their bytes.
import { statSync } from 'node:fs';

export const protocolVersion = 1;

export const FrameType = {
  Request: 1,
  Decline: 2,
  Pending: 3,
  Result: 4,
  Error: 5,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** The largest frame either side sends or accepts (a call's environment and config, or its output). */
export const maxFrameBytes = 4 * 1024 * 1024;
export const frameHeaderBytes = 5;

/** Beside each launcher, the folder of the Node plugins it runs when weftd does not serve a call. */
export const fallbackDirectory = 'weft-plugins';

/** Where each weftd listens: a root-only directory, one socket per network namespace (see socketPath). */
export const socketDirectory = '/run/weft/plugins';

/**
 * The socket of the weftd serving the network namespace with inode `netnsInode`. Keyed by namespace, so the
 * weftd of each simulated host (or `ip netns exec` shell) of one machine is found by the callers in it.
 */
export function socketPath(netnsInode: bigint, dir = socketDirectory): string {
  return `${dir}/net-${netnsInode}.sock`;
}

/** The inode of this process's network namespace (what the launcher stats to find its socket). */
export function ownNetnsInode(): bigint {
  return statSync('/proc/self/ns/net', { bigint: true }).ino;
}

export interface CallRequest {
  readonly version: number;
  /** The launcher's build identity; weftd serves only its own build. */
  readonly build: string;
  readonly plugin: string;
  /** The environment as `NAME=value` entries, in the order the process had them. */
  readonly env: readonly string[];
  readonly stdin: Buffer;
}

export interface CallResult {
  readonly exitCode: number;
  readonly stderr: string;
  readonly stdout: string;
}

export class FrameError extends Error {
  override readonly name = 'FrameError';
}

/** A frame's bytes: header and payload. */
export function encodeFrame(type: FrameType, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  if (body.length + 1 > maxFrameBytes) throw new FrameError(`frame of ${body.length + 1} bytes exceeds ${maxFrameBytes}`);
  const header = Buffer.alloc(frameHeaderBytes);
  header.writeUInt32BE(body.length + 1, 0);
  header.writeUInt8(type, 4);
  return Buffer.concat([header, body]);
}

function encodeBytes(bytes: Buffer): Buffer[] {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length, 0);
  return [length, bytes];
}

export function encodeRequest(request: CallRequest): Buffer {
  const count = Buffer.alloc(4);
  count.writeUInt32BE(request.env.length, 0);
  return encodeFrame(FrameType.Request, Buffer.concat([
    Buffer.from([request.version]),
    ...encodeBytes(Buffer.from(request.build)),
    ...encodeBytes(Buffer.from(request.plugin)),
    count,
    ...request.env.flatMap((entry) => encodeBytes(Buffer.from(entry))),
    ...encodeBytes(request.stdin),
  ]));
}

/** Reads a request payload; throws FrameError naming what is wrong with it. */
export function decodeRequest(payload: Buffer): CallRequest {
  let at = 0;
  const need = (n: number, what: string) => {
    if (at + n > payload.length) throw new FrameError(`request ends inside ${what}`);
  };
  const bytes = (what: string) => {
    need(4, what);
    const length = payload.readUInt32BE(at);
    at += 4;
    need(length, what);
    const value = payload.subarray(at, at + length);
    at += length;
    return value;
  };
  need(1, 'the protocol version');
  const version = payload.readUInt8(at++);
  if (version !== protocolVersion) throw new FrameError(`protocol version ${version}, expected ${protocolVersion}`);
  const build = bytes('the build').toString('utf8');
  const plugin = bytes('the plugin name').toString('utf8');
  need(4, 'the environment count');
  const count = payload.readUInt32BE(at);
  at += 4;
  const env: string[] = [];
  for (let i = 0; i < count; i++) env.push(bytes(`environment entry ${i}`).toString('utf8'));
  const stdin = Buffer.from(bytes('stdin'));
  if (at !== payload.length) throw new FrameError(`${payload.length - at} bytes after the request`);
  return { version, build, plugin, env, stdin };
}

/** The environment entries as an object; the first of a repeated name wins, as getenv(3) has it. */
export function environmentOf(entries: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of entries) {
    const equals = entry.indexOf('=');
    if (equals <= 0) continue;
    const name = entry.slice(0, equals);
    if (!Object.hasOwn(env, name)) env[name] = entry.slice(equals + 1);
  }
  return env;
}

export function encodeResult(result: CallResult): Buffer {
  const stderr = Buffer.from(result.stderr, 'utf8');
  const head = Buffer.alloc(8);
  head.writeUInt32BE(result.exitCode >>> 0, 0);
  head.writeUInt32BE(stderr.length, 4);
  return encodeFrame(FrameType.Result, Buffer.concat([head, stderr, Buffer.from(result.stdout, 'utf8')]));
}

export function decodeResult(payload: Buffer): CallResult {
  if (payload.length < 8) throw new FrameError('result shorter than its header');
  const stderrLength = payload.readUInt32BE(4);
  if (8 + stderrLength > payload.length) throw new FrameError('result ends inside stderr');
  return {
    exitCode: payload.readUInt32BE(0),
    stderr: payload.subarray(8, 8 + stderrLength).toString('utf8'),
    stdout: payload.subarray(8 + stderrLength).toString('utf8'),
  };
}

export interface Frame {
  readonly type: number;
  readonly payload: Buffer;
}

/**
 * Splits a byte stream into frames. `push` returns the frames completed so far; a length over the bound
 * throws FrameError at once, before any of that frame's body is buffered.
 */
export class FrameReader {
  private pending: Buffer[] = [];
  private buffered = 0;

  push(chunk: Buffer): Frame[] {
    this.pending.push(chunk);
    this.buffered += chunk.length;
    const frames: Frame[] = [];
    while (this.buffered >= 4) {
      // Joined only when a whole frame is there (or to read a length split across chunks): no copying per chunk.
      if (this.pending[0]!.length < 4) this.pending = [Buffer.concat(this.pending)];
      const length = this.pending[0]!.readUInt32BE(0);
      if (length === 0) throw new FrameError('frame of length 0 (no type)');
      if (length > maxFrameBytes) throw new FrameError(`frame of ${length} bytes exceeds ${maxFrameBytes}`);
      if (this.buffered < 4 + length) break;
      const data = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
      frames.push({ type: data.readUInt8(4), payload: data.subarray(frameHeaderBytes, 4 + length) });
      const rest = data.subarray(4 + length);
      this.pending = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
    }
    return frames;
  }

  /** Bytes received that are not yet a whole frame. */
  get partialBytes(): number {
    return this.buffered;
  }
}
