// A fixed set of worker threads running plugin calls (worker.ts), one call per worker at a time, the rest
// queued in arrival order. The main thread only passes messages, so weftd's event loop (its sockets, the
// overlay's data path, /metrics) never waits on a plugin. A worker that dies (its thread crashed) fails the
// call it had and is replaced.
import { Worker } from 'node:worker_threads';
import type { HostedCall, HostedOutput } from './call.ts';

interface Job {
  readonly call: HostedCall;
  readonly resolve: (output: HostedOutput) => void;
  readonly reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  job: Job | undefined;
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private closed = false;

  /** `code`: the worker's script (a CommonJS bundle of worker.ts), run with `eval`. */
  constructor(private readonly code: string, size: number, private readonly onCrash: (err: Error) => void) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  /** Calls running or waiting. */
  get pending(): number {
    return this.queue.length + this.slots.filter((slot) => slot.job).length;
  }

  run(call: HostedCall): Promise<HostedOutput> {
    if (this.closed) return Promise.reject(new Error('the plugin host is stopping'));
    return new Promise((resolve, reject) => {
      this.queue.push({ call, resolve, reject });
      this.next();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('the plugin host is stopping'));
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  private spawn(): Slot {
    // trackUnmanagedFds off: the plugins close the netlink sockets the addon opened, which Node would warn
    // about on every call; the workers live as long as weftd, so nothing is left to close at their exit.
    const slot: Slot = { worker: new Worker(this.code, { eval: true, trackUnmanagedFds: false }), job: undefined };
    slot.worker.on('message', (output: HostedOutput) => {
      const job = slot.job;
      slot.job = undefined;
      job?.resolve(output);
      this.next();
    });
    slot.worker.on('error', (err) => this.onCrash(err));
    slot.worker.on('exit', () => {
      if (this.closed) return;
      const job = slot.job;
      slot.job = undefined;
      job?.reject(new Error('the plugin host worker ended during the call'));
      const index = this.slots.indexOf(slot);
      if (index >= 0) this.slots[index] = this.spawn();
      this.next();
    });
    return slot;
  }

  private next(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.job) continue;
      slot.job = this.queue.shift()!;
      slot.worker.postMessage(slot.job.call);
    }
  }
}
