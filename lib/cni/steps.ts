// A verb as named steps, each with its undo: run in order and, when one fails, the undos of those that
// succeeded run in reverse, so a failed ADD leaves nothing behind (the reference bridge leaves its veth
// when IPAM fails, and the next ADD for that container then fails).
//
//   const result = await runSteps({ log, codeOf }, async (step) => {
//     const ipam = await step.run('allocate addresses', () => ipamAdd(), () => ipamDel());
//     await step.run('configure the container', () => configure(ipam));
//     return build(ipam);
//   });
//
//   await runAll({ log }, [['remove rules', () => removeRules()], ['release addresses', () => ipamDel()]]);
//
// A failure that is not a CniError becomes one: `failed to <step name>` with the error's message as the
// details and the code `codeOf` gives (e.g. 100 for a kernel error). Undo failures are logged, never thrown:
// the runtime needs the error that stopped the verb, and will call DEL, which removes leftovers anyway.

import { CniError, ErrorCode } from './errors.ts';

export type Undo = () => unknown;

export interface StepOptions {
  /** Where undo failures are reported (a plugin's stderr). */
  log(line: string): void;
  /** The CNI code of a failure that is not a CniError; 199 (internal) when left out. */
  codeOf?(err: unknown): number;
}

interface Done {
  readonly name: string;
  readonly undo: Undo;
}

export class Steps {
  private readonly done: Done[] = [];

  constructor(private readonly options: StepOptions) {}

  /** Runs the step now; its undo (given the step's value) is kept for a rollback. */
  async run<T>(name: string, body: () => T | Promise<T>, undo?: (value: T) => unknown): Promise<T> {
    let value: T;
    try {
      value = await body();
    } catch (err) {
      throw this.failure(name, err);
    }
    if (undo) this.done.push({ name, undo: () => undo(value) });
    return value;
  }

  /** Undoes what succeeded, newest first. */
  async rollback(): Promise<void> {
    while (this.done.length > 0) {
      const { name, undo } = this.done.pop()!;
      try {
        await undo();
      } catch (err) {
        this.options.log(`undo "${name}" failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  private failure(name: string, err: unknown): CniError {
    return stepFailure(this.options, name, err);
  }
}

function stepFailure(options: StepOptions, name: string, err: unknown): CniError {
  if (err instanceof CniError) return err;
  const code = options.codeOf?.(err) ?? ErrorCode.Internal;
  const details = err instanceof Error ? err.message : String(err);
  return new CniError(code, `failed to ${name}`, details, { cause: err });
}

/** Runs `body` with a fresh set of steps: returns its value, or rolls everything back and rethrows. */
export async function runSteps<T>(options: StepOptions, body: (steps: Steps) => Promise<T>): Promise<T> {
  const steps = new Steps(options);
  try {
    return await body(steps);
  } catch (err) {
    await steps.rollback();
    throw err;
  }
}

/**
 * Runs every task even when some fail — DEL and GC clean up as much as they can — and then throws the first
 * failure (the others are logged). Each task starts in turn; one that waits on another process (an IPAM
 * plugin) lets the next start meanwhile.
 */
export async function runAll(options: StepOptions, tasks: ReadonlyArray<readonly [name: string, task: () => unknown]>): Promise<void> {
  const outcomes = tasks.map(([name, task]) =>
    (async () => task())().then(
      () => undefined,
      (err: unknown) => stepFailure(options, name, err),
    ),
  );
  const failures = (await Promise.all(outcomes)).filter((f): f is CniError => f !== undefined);
  for (const extra of failures.slice(1)) options.log(`also failed: ${extra.message}`);
  if (failures.length > 0) throw failures[0];
}
