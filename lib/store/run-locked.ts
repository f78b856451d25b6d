import type { LockOptions, Locks } from './types';

/** acquire, run, release (also when `task` throws): every Locks implementation's `withLock`. */
export async function runLocked<T>(locks: Pick<Locks, 'acquire'>, key: string, task: () => Promise<T>, opts?: LockOptions): Promise<T> {
  const lock = await locks.acquire(key, opts);
  try {
    return await task();
  } finally {
    await lock.release();
  }
}
