/**
 * Per-key locks in Redis: SET NX PX with a random value, renewed every third of the lease by
 * compare-and-renew, released by compare-and-delete.
 */
import { randomBytes } from 'node:crypto';
import type { LockHandle, LockOptions, Locks } from '../types';
import { backoffDelay, sleep } from '../../util/backoff';
import { isStoreUnavailable, StoreError } from '../errors';
import { runLocked } from '../run-locked';
import type { RedisStoreProvider } from './provider';
import { DEL_IF, PEXPIRE_IF } from './scripts';

export class RedisLocks implements Locks {
  private readonly handles = new Set<{ stop(): void }>();
  constructor(private readonly p: RedisStoreProvider, private readonly scope: string) {}

  async acquire(key: string, opts: LockOptions = {}): Promise<LockHandle> {
    const ttlMs = opts.ttlMs ?? 30000;
    const waitMs = opts.waitMs ?? ttlMs;
    const rkey = this.p.key(this.scope, 'lock', key);
    const value = randomBytes(16).toString('hex');
    const deadline = Date.now() + waitMs;
    // a Redis away for a moment (restart, failover) is waited out, within the wait and the provider's outageWaitMs
    const outageUntil = Date.now() + Math.min(waitMs, this.p.outageWaitMs);
    let attempt = 0;
    for (;;) {
      if (opts.signal?.aborted) throw new StoreError('ABORTED', `lock ${key}: aborted`);
      let ok: string | null;
      try {
        ok = await this.p.cmd<string | null>(['SET', rkey, value, 'NX', 'PX', String(ttlMs)]);
      } catch (err) {
        if (!isStoreUnavailable(err) || this.p.healthy || !(await this.p.waitForRedis(outageUntil - Date.now()))) throw err;
        continue;
      }
      if (ok === 'OK') break;
      if (Date.now() >= deadline) throw new StoreError('LOCK_TIMEOUT', `lock ${key}: not acquired within ${waitMs} ms`);
      // jittered: instances waiting for the same lock do not retry in step
      await sleep(Math.min(backoffDelay(attempt++, 20, 200), Math.max(1, deadline - Date.now())), opts.signal);
    }
    let held = true;
    // a lease renewed at `leaseFrom` runs until leaseFrom + ttlMs (measured from before the command)
    let leaseFrom = Date.now();
    const p = this.p;
    const renewal = setInterval(() => {
      const sent = Date.now();
      p.cmd<number>(['EVAL', PEXPIRE_IF, '1', rkey, value, String(ttlMs)]).then((n) => {
        if (Number(n) !== 1) stop();
        else leaseFrom = sent;
      }, () => {
        // try again next time while the lease may still run; once it cannot, the lock is lost
        if (Date.now() - leaseFrom >= ttlMs) stop();
      });
    }, Math.max(10, Math.floor(ttlMs / 3)));
    renewal.unref?.();
    // close() stops the renewal only: a task still running keeps the lock until it releases it
    // (compare-and-delete, so another instance can take it at once) or its lease ends
    const handles = this.handles;
    const tracker = { stop: (): void => { clearInterval(renewal); handles.delete(tracker); } };
    handles.add(tracker);
    function stop(): void { held = false; tracker.stop(); }
    return {
      key,
      get held() { return held; },
      release: async () => {
        if (!held) return;
        stop();
        await p.cmd<number>(['EVAL', DEL_IF, '1', rkey, value]).catch(() => undefined);
      },
    };
  }

  withLock<T>(key: string, task: () => Promise<T>, opts?: LockOptions): Promise<T> {
    return runLocked(this, key, task, opts);
  }

  async close(): Promise<void> {
    for (const h of [...this.handles]) h.stop();
    this.p.untrack(this);
  }
}
