// Delays between retries: exponential, capped, with jitter so that many nodes retrying after one outage
// do not retry in step.

export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  /** Growth per attempt (default 2). */
  readonly factor?: number;
}

/** The delay before retry number `attempt` (0-based): full delay ± up to 20 %, never above maxMs. */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMs, policy.initialMs * (policy.factor ?? 2) ** attempt);
  return Math.min(policy.maxMs, Math.round(base * (0.8 + 0.4 * random())));
}
