// Test helpers: the CniError a call throws or a promise rejects with, so tests can inspect code and text.
import { CniError } from '../errors.ts';

export function catchCniError(fn: () => unknown): CniError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CniError) return err;
    throw err;
  }
  throw new Error('expected a CniError, nothing was thrown');
}

export async function rejectedCniError(promise: Promise<unknown>): Promise<CniError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof CniError) return err;
    throw err;
  }
  throw new Error('expected a CniError, the promise resolved');
}
