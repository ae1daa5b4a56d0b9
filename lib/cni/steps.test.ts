import { describe, expect, it } from 'vitest';
import { CniError, ErrorCode } from './errors.ts';
import { runAll, runSteps } from './steps.ts';

function recorder() {
  const events: string[] = [];
  const logs: string[] = [];
  return { events, logs, options: { log: (line: string) => logs.push(line) } };
}

const later = (ms: number) => new Promise((wake) => setTimeout(wake, ms));

describe('runSteps', () => {
  it('runs steps in order and returns the body’s value without undoing anything', async () => {
    const { events, options } = recorder();
    const value = await runSteps(options, async (step) => {
      const a = await step.run('one', () => (events.push('one'), 1), () => events.push('undo one'));
      const b = await step.run('two', async () => (events.push('two'), a + 1), () => events.push('undo two'));
      return a + b;
    });
    expect(value).toBe(3);
    expect(events).toEqual(['one', 'two']);
  });

  it('undoes the steps that succeeded, newest first, with their values, and rethrows', async () => {
    const { events, options } = recorder();
    const failure = runSteps(options, async (step) => {
      await step.run('make a', () => 'a', (v) => events.push(`undo ${v}`));
      await step.run('make b', () => 'b', (v) => events.push(`undo ${v}`));
      await step.run('no undo', () => 'c');
      await step.run('make d', () => {
        throw new CniError(ErrorCode.AddressUnavailable, 'range full');
      }, () => events.push('undo d'));
    });
    await expect(failure).rejects.toMatchObject({ code: ErrorCode.AddressUnavailable, msg: 'range full' });
    expect(events).toEqual(['undo b', 'undo a']);
  });

  it('names the failed step and gives the code codeOf chooses for errors that are not CniErrors', async () => {
    const codeOf = (err: unknown) => (err instanceof RangeError ? ErrorCode.KernelFailure : ErrorCode.Internal);
    const failure = runSteps({ log: () => {}, codeOf }, async (step) => {
      await step.run('create veth pair', () => {
        throw new RangeError('add veth link: File exists (EEXIST)');
      });
    });
    await expect(failure).rejects.toMatchObject({
      code: ErrorCode.KernelFailure,
      msg: 'failed to create veth pair',
      details: 'add veth link: File exists (EEXIST)',
    });
    const internal = runSteps({ log: () => {} }, async (step) => step.run('x', () => Promise.reject(new Error('boom'))));
    await expect(internal).rejects.toMatchObject({ code: ErrorCode.Internal, msg: 'failed to x', details: 'boom' });
  });

  it('keeps undoing past an undo that fails, and logs it', async () => {
    const { events, logs, options } = recorder();
    const failure = runSteps(options, async (step) => {
      await step.run('a', () => 0, () => events.push('undo a'));
      await step.run('b', () => 0, () => {
        throw new Error('link busy');
      });
      await step.run('c', () => {
        throw new Error('nope');
      });
    });
    await expect(failure).rejects.toMatchObject({ msg: 'failed to c' });
    expect(events).toEqual(['undo a']);
    expect(logs).toEqual(['undo "b" failed: link busy']);
  });
});

describe('runAll', () => {
  it('runs every task even after a failure, and throws the first failure after logging the others', async () => {
    const { events, logs, options } = recorder();
    const failure = runAll({ ...options, codeOf: () => ErrorCode.KernelFailure }, [
      ['delete link', () => {
        events.push('link');
        throw new Error('busy');
      }],
      ['release addresses', () => events.push('ipam')],
      ['remove rules', async () => {
        events.push('nft');
        throw new CniError(ErrorCode.FirewallFailure, 'nft failed');
      }],
    ]);
    await expect(failure).rejects.toMatchObject({ code: ErrorCode.KernelFailure, msg: 'failed to delete link', details: 'busy' });
    expect(events).toEqual(['link', 'ipam', 'nft']);
    expect(logs).toEqual(['also failed: nft failed']);
  });

  it('starts the next task while an earlier one waits', async () => {
    const { events, options } = recorder();
    await runAll(options, [
      ['slow', async () => {
        events.push('slow started');
        await later(20);
        events.push('slow done');
      }],
      ['quick', () => events.push('quick')],
    ]);
    expect(events).toEqual(['slow started', 'quick', 'slow done']);
  });
});
