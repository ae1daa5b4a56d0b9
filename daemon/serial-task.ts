// A task that must not overlap itself but must run again after any request made while it ran (a lease
// maintenance step, a comparison of the lease file): requests during a run coalesce into one more run.

export class SerialTask {
  private running: Promise<void> | undefined;
  private again = false;

  /** `task` must not reject: it handles its own errors. */
  constructor(private readonly task: () => Promise<void>) {}

  /** Runs the task now, or once more right after the run in progress. */
  readonly run = (): void => {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.task().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.run();
      }
    });
  };

  /** Resolves once no run is in progress or asked for. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }
}
