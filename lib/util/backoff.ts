/** Exponential backoff with full jitter: base * 2^attempt, capped, then a random share of it. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Wait `ms`; an aborted signal ends the wait at once (and clears the timer). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Wait until `running` (a live collection: finished work leaves it) is empty, but at most `ms`:
 * work that never settles must not hold a close forever.
 */
export async function drain(running: { readonly size: number; values(): Iterable<Promise<unknown>> }, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (running.size && Date.now() < until) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...running.values()]),
      new Promise<void>((r) => { timer = setTimeout(r, Math.max(1, until - Date.now())); }),
    ]);
    clearTimeout(timer);
  }
}
