import type { LockHandle, LockOptions, Locks } from '../store/types';

/**
 * The in-process Locks (the default of CustomerService): per key, holders one after another in
 * arrival order. A waiter gives up after `waitMs` (code LOCK_TIMEOUT) or when its signal aborts.
 * One Node-RED process only: several instances share a Redis implementation of the same interface.
 */
export class InProcessLocks implements Locks {
  private readonly queues = new Map<string, (() => void)[]>();
  private readonly held = new Set<string>();

  async acquire(key: string, opts: LockOptions = {}): Promise<LockHandle> {
    const waitMs = opts.waitMs ?? opts.ttlMs ?? 30000;
    if (this.held.has(key)) {
      await new Promise<void>((resolve, reject) => {
        const queue = this.queues.get(key) ?? [];
        this.queues.set(key, queue);
        let timer: NodeJS.Timeout | undefined;
        const leave = (err: Error): void => {
          const i = queue.indexOf(grant);
          if (i >= 0) queue.splice(i, 1);
          if (!queue.length && this.queues.get(key) === queue) this.queues.delete(key);
          clearTimeout(timer);
          opts.signal?.removeEventListener('abort', onAbort);
          reject(err);
        };
        const onAbort = (): void => leave(Object.assign(new Error(`lock ${key}: stopped`), { code: 'LOCK_ABORTED' }));
        const grant = (): void => {
          clearTimeout(timer);
          opts.signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        timer = setTimeout(() => leave(Object.assign(new Error(`lock ${key}: not acquired within ${waitMs} ms`), { code: 'LOCK_TIMEOUT' })), waitMs);
        if (opts.signal?.aborted) return onAbort();
        opts.signal?.addEventListener('abort', onAbort, { once: true });
        queue.push(grant);
      });
    } else {
      this.held.add(key);
    }
    let released = false;
    return {
      key,
      get held() {
        return !released;
      },
      release: async () => {
        if (released) return;
        released = true;
        const queue = this.queues.get(key);
        const next = queue?.shift();
        if (queue && !queue.length) this.queues.delete(key);
        if (next) next(); // the lock passes straight to the next waiter
        else this.held.delete(key);
      },
    };
  }

  async withLock<T>(key: string, task: () => Promise<T>, opts?: LockOptions): Promise<T> {
    const handle = await this.acquire(key, opts);
    try {
      return await task();
    } finally {
      await handle.release();
    }
  }

  get size(): number {
    return this.held.size;
  }

  async close(): Promise<void> {
    // Holders finish on their own; nothing to free.
  }
}
