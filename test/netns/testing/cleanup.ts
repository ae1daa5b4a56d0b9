// Every kernel object or file a test makes is registered here with its undo, and removed by exact name
// when the test file ends (`cleanupAfterAll` in suite.ts), when the process exits, or on SIGINT, SIGTERM
// or SIGHUP, whichever comes first. Undo actions are synchronous so they can run in an 'exit' handler.
// No vitest import: a child process in a test can use the registry too.
interface Entry {
  readonly what: string;
  readonly undo: () => void;
}

const entries: Entry[] = [];
let safetyNetInstalled = false;
const signalNumbers = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;

function installSafetyNet(): void {
  if (safetyNetInstalled) return;
  safetyNetInstalled = true;
  process.on('exit', () => void cleanupAll());
  for (const [signal, number] of Object.entries(signalNumbers)) {
    process.once(signal, () => {
      cleanupAll();
      process.exit(128 + number);
    });
  }
}

/** Registers `undo` for `what`; returns a function that runs it now and unregisters it. */
export function track(what: string, undo: () => void): () => void {
  installSafetyNet();
  const entry: Entry = { what, undo };
  entries.push(entry);
  return () => {
    const index = entries.indexOf(entry);
    if (index < 0) return;
    entries.splice(index, 1);
    entry.undo();
  };
}

/** Runs every pending undo, newest first; keeps going past failures and returns their messages. */
export function cleanupAll(): string[] {
  const failures: string[] = [];
  while (entries.length > 0) {
    const entry = entries.pop()!;
    try {
      entry.undo();
    } catch (err) {
      failures.push(`${entry.what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return failures;
}

/** What is still registered (for tests of the harness and for diagnostics). */
export function pending(): string[] {
  return entries.map((e) => e.what);
}
