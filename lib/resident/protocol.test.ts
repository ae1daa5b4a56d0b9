import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CURRENT_VERSION } from '../cni/version.ts';
import {
  decodeRequest, decodeResult, encodeFrame, encodeRequest, encodeResult, environmentOf, FrameError, FrameReader, FrameType,
  fallbackDirectory, maxFrameBytes, protocolVersion, socketDirectory, socketPath, type CallRequest,
} from './protocol.ts';

const request: CallRequest = {
  version: protocolVersion,
  build: 'b1',
  plugin: 'bridge',
  env: ['CNI_COMMAND=ADD', 'PATH=/bin', 'EMPTY=', 'CNI_COMMAND=DEL'],
  stdin: Buffer.from('{"cniVersion":"1.0.0"}\n'),
};

describe('plugin call frames', () => {
  it('carries a request and a result through a stream split anywhere', () => {
    const bytes = Buffer.concat([encodeRequest(request), encodeResult({ exitCode: 1, stderr: 'log ü\n', stdout: '{"code":7}\n' })]);
    for (const cut of [1, 3, 4, 5, 17, bytes.length - 1]) {
      const reader = new FrameReader();
      const frames = [...reader.push(bytes.subarray(0, cut)), ...reader.push(bytes.subarray(cut))];
      expect(frames.map((f) => f.type)).toEqual([FrameType.Request, FrameType.Result]);
      expect(decodeRequest(frames[0]!.payload)).toEqual(request);
      expect(decodeResult(frames[1]!.payload)).toEqual({ exitCode: 1, stderr: 'log ü\n', stdout: '{"code":7}\n' });
      expect(reader.partialBytes).toBe(0);
    }
  });

  it('reads the environment as getenv does: the first of a name, entries without a name skipped', () => {
    expect(environmentOf(request.env)).toEqual({ CNI_COMMAND: 'ADD', PATH: '/bin', EMPTY: '' });
    expect(environmentOf(['=x', 'novalue', 'A==b'])).toEqual({ A: '=b' });
  });

  it('refuses an oversized frame from its length alone, before its body arrives', () => {
    const header = Buffer.alloc(5);
    header.writeUInt32BE(maxFrameBytes + 1, 0);
    expect(() => new FrameReader().push(header.subarray(0, 4))).toThrow(FrameError);
    expect(() => new FrameReader().push(Buffer.alloc(4))).toThrow(/length 0/);
    expect(() => encodeFrame(FrameType.Result, Buffer.alloc(maxFrameBytes))).toThrow(FrameError);
  });

  it('names what is wrong with a malformed request', () => {
    const payload = encodeRequest(request).subarray(5);
    expect(() => decodeRequest(payload.subarray(0, payload.length - 3))).toThrow(/ends inside stdin/);
    expect(() => decodeRequest(Buffer.concat([payload, Buffer.from('x')]))).toThrow(/1 bytes after/);
    expect(() => decodeRequest(Buffer.from([9]))).toThrow(/protocol version 9/);
    expect(() => decodeRequest(Buffer.alloc(0))).toThrow(/ends inside the protocol version/);
    const huge = Buffer.from(payload);
    huge.writeUInt32BE(0xffffffff, 1 + 4 + 2 + 4 + 6);
    expect(() => decodeRequest(huge)).toThrow(/ends inside environment entry 5/);
    expect(() => decodeResult(Buffer.alloc(3))).toThrow(/shorter/);
  });

  it('names one socket per network namespace', () => {
    expect(socketPath(4026531840n)).toBe(`${socketDirectory}/net-4026531840.sock`);
  });

  it('agrees with the launcher on every constant it mirrors', () => {
    const c = readFileSync(new URL('./native/launcher.c', import.meta.url), 'utf8');
    const define = (name: string) => new RegExp(`#define ${name} (.+)`).exec(c)?.[1];
    expect(define('PROTOCOL_VERSION')).toBe(String(protocolVersion));
    expect(define('MAX_FRAME_BYTES')).toBe(`(${maxFrameBytes / 1024 / 1024}u * 1024u * 1024u)`);
    expect(define('SOCKET_DIRECTORY')).toBe(JSON.stringify(socketDirectory));
    expect(define('CURRENT_CNI_VERSION')).toBe(JSON.stringify(CURRENT_VERSION));
    expect(define('FALLBACK_DIRECTORY')).toBe(JSON.stringify(fallbackDirectory));
    expect(c).toContain('"/net-%llu.sock"');
    for (const [name, value] of Object.entries(FrameType)) {
      expect(c).toContain(`FRAME_${name.toUpperCase()} = ${value}`);
    }
  });
});
