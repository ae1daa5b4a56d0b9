import { describe, expect, it } from 'vitest';
import { NetlinkBatchError, NetlinkError, fromSystemError, ignoreExists, ignoreNotFound, isNetlinkError } from './errors.ts';

describe('NetlinkError', () => {
  it('names the operation, the errno and the kernel message', () => {
    const err = new NetlinkError('add veth link v1', 17, 'Device already exists');
    expect(err.message).toBe('add veth link v1: file already exists (EEXIST): Device already exists');
    expect(err).toMatchObject({ code: 'EEXIST', errno: 17, kind: 'exists', extack: 'Device already exists' });
  });

  it.each([
    [2, 'notFound'],
    [19, 'notFound'],
    [3, 'notFound'],
    [99, 'notFound'],
    [16, 'busy'],
    [1, 'permission'],
    [22, 'invalid'],
    [95, 'unsupported'],
    [5, 'other'],
  ])('classifies errno %i as %s', (errno, kind) => {
    expect(new NetlinkError('op', errno).kind).toBe(kind);
  });

  it('describes an errno it does not know', () => {
    expect(new NetlinkError('op', 4000).message).toBe('op: unknown error (errno 4000)');
  });
});

describe('idempotency helpers', () => {
  it('ignore only their own kind', () => {
    expect(ignoreExists(() => { throw new NetlinkError('add', 17); })).toBeUndefined();
    expect(ignoreNotFound(() => { throw new NetlinkError('del', 19); })).toBeUndefined();
    expect(ignoreExists(() => 5)).toBe(5);
    expect(() => ignoreExists(() => { throw new NetlinkError('del', 19); })).toThrow(/ENODEV/);
    expect(() => ignoreNotFound(() => { throw new TypeError('bad'); })).toThrow(TypeError);
  });

  it('isNetlinkError checks the kind when asked', () => {
    const err = new NetlinkError('x', 16);
    expect(isNetlinkError(err)).toBe(true);
    expect(isNetlinkError(err, 'busy')).toBe(true);
    expect(isNetlinkError(err, 'exists')).toBe(false);
    expect(isNetlinkError(new Error('x'))).toBe(false);
  });
});

describe('conversions', () => {
  it('turns a Node system error into a NetlinkError for the operation', () => {
    const sys = Object.assign(new Error('ENOENT: no such file'), { errno: -2, code: 'ENOENT' });
    const err = fromSystemError('open network namespace /run/netns/x', sys);
    expect(err).toBeInstanceOf(NetlinkError);
    expect((err as NetlinkError).message).toBe('open network namespace /run/netns/x: no such file or directory (ENOENT)');
    const other = new Error('plain');
    expect(fromSystemError('op', other)).toBe(other);
  });

  it('a batch error counts its failures', () => {
    const err = new NetlinkBatchError([{ index: 3, error: new NetlinkError('add route', 17) }, { index: 5, error: new NetlinkError('add route', 22) }], 10);
    expect(err.message).toBe('2 of 10 netlink requests failed: add route: file already exists (EEXIST) (and 1 more)');
  });
});
