import { MemoryDeliveryStore } from './memory-delivery';
/**
 * The memory implementations of lib/store/types.ts: one process, nothing survives a restart. They
 * behave like the Redis ones where a caller can tell (first write wins, FIFO lock waiters with
 * LOCK_TIMEOUT, compare-and-delete tokens), so the same test suite runs against both.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type {
  DeliveryStore,
  KeyValueStore,
  LockHandle,
  LockOptions,
  Locks,
  SharedTokenStore,
  StoreProvider,
  WorkItem,
  WorkQueue,
} from './types';
import { StoreError } from './errors';
import { runLocked } from './run-locked';
import { drain } from '../util/backoff';
import { TtlCache } from '../util/ttl-cache';
import { KeyedSerializer } from '../util/limiter';

interface Waiter {
  grant: () => void;
  fail: (err: Error) => void;
}

/** Per-key mutual exclusion in one process: FIFO waiters, LOCK_TIMEOUT after `waitMs`. */
export class MemoryLocks implements Locks {
  private readonly held = new Map<string, Waiter[]>();
  /** Closed lock sets are not handed out again (a redeployed node gets a new one). */
  closed = false;

  async acquire(key: string, opts: LockOptions = {}): Promise<LockHandle> {
    if (this.closed) throw new StoreError('CLOSED', 'lock store is closed');
    const ttlMs = opts.ttlMs ?? 30000;
    const waitMs = opts.waitMs ?? ttlMs;
    const signal = opts.signal;
    if (signal?.aborted) throw new StoreError('ABORTED', `lock ${key}: aborted`);
    const queue = this.held.get(key);
    if (queue) {
      await new Promise<void>((resolve, reject) => {
        let timer: NodeJS.Timeout | undefined;
        const cleanup = (): void => {
          if (timer) clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        };
        const waiter: Waiter = {
          grant: () => { cleanup(); resolve(); },
          fail: (err) => { cleanup(); drop(); reject(err); },
        };
        const drop = (): void => {
          const i = queue.indexOf(waiter);
          if (i >= 0) queue.splice(i, 1);
        };
        const onAbort = (): void => waiter.fail(new StoreError('ABORTED', `lock ${key}: aborted`));
        timer = setTimeout(() => waiter.fail(new StoreError('LOCK_TIMEOUT', `lock ${key}: not acquired within ${waitMs} ms`)), waitMs);
        signal?.addEventListener('abort', onAbort, { once: true });
        queue.push(waiter);
      });
    } else {
      this.held.set(key, []);
    }
    let held = true;
    const release = async (): Promise<void> => {
      if (!held) return;
      held = false;
      const q = this.held.get(key);
      const next = q?.shift();
      if (next) next.grant();
      else this.held.delete(key);
    };
    return {
      key,
      get held() { return held; },
      release,
    };
  }

  withLock<T>(key: string, task: () => Promise<T>, opts?: LockOptions): Promise<T> {
    return runLocked(this, key, task, opts);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const queue of this.held.values()) {
      for (const w of queue.splice(0)) w.fail(new StoreError('CLOSED', 'lock store is closed'));
    }
  }
}

/** Tokens per appId in this process; delete only if the token is still the given one. */
export class MemorySharedTokenStore<R extends { token: string }> implements SharedTokenStore<R> {
  private readonly records = new Map<string, R>();

  async get(appId: string): Promise<R | undefined> {
    return this.records.get(appId);
  }

  async set(appId: string, record: R): Promise<void> {
    this.records.set(appId, record);
  }

  async delete(appId: string, ifToken: string): Promise<boolean> {
    const r = this.records.get(appId);
    if (!r || r.token !== ifToken) return false;
    this.records.delete(appId);
    return true;
  }
}

/** Values with a lifetime in this process (at most 100,000; past that the oldest go). */
export class MemoryKeyValueStore implements KeyValueStore {
  private readonly values = new TtlCache<string>(100000);

  async get(key: string): Promise<string | undefined> {
    return this.values.get(key);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.values.set(key, value, ttlMs);
  }

  async add(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (this.values.get(key) !== undefined) return false;
    this.values.set(key, value, ttlMs);
    return true;
  }

  async delete(key: string): Promise<void> {
    this.values.delete(key);
  }
}

/**
 * Runs each added item at once in this process (no persistence: a dead process loses its work).
 * Items added before `consume` wait for it. `close()` waits for the running handlers, at most
 * `closeTimeoutMs` (as the Redis queue: a handler that never settles must not hold Node-RED's close).
 */
class MemoryWorkQueue<T> implements WorkQueue<T> {
  constructor(private readonly closeTimeoutMs: number) {}

  private handler: ((item: WorkItem<T>) => Promise<void>) | undefined;
  private readonly pending: { item: WorkItem<T>; orderKey?: string }[] = [];
  /** Items with an order key: one at a time per key, in the order they were added. */
  private readonly turns = new KeyedSerializer();
  private readonly running = new Set<Promise<void>>();
  /** Closed queues are not handed out again (a redeployed node gets a new one). */
  closed = false;
  private seq = 0;

  async add(data: T, opts: { orderKey?: string } = {}): Promise<string> {
    if (this.closed) throw new StoreError('STORE_UNAVAILABLE', 'work queue is closed');
    // JSON round trip: the same data a Redis stream would give back
    const item: WorkItem<T> = { id: `${Date.now()}-${this.seq++}`, data: JSON.parse(JSON.stringify(data)) as T, recovered: false };
    if (this.handler) this.run(item, opts.orderKey);
    else this.pending.push({ item, orderKey: opts.orderKey });
    return item.id;
  }

  consume(handler: (item: WorkItem<T>) => Promise<void>): void {
    if (this.handler) throw new Error('consume() already called');
    this.handler = handler;
    for (const { item, orderKey } of this.pending.splice(0)) this.run(item, orderKey);
  }

  private run(item: WorkItem<T>, orderKey?: string): void {
    const handler = this.handler!;
    const handle = (): Promise<void> => Promise.resolve().then(() => handler(item));
    const p: Promise<void> = (orderKey ? this.turns.run(orderKey, handle) : handle())
      .catch(() => undefined)
      .finally(() => {
        this.running.delete(p);
        for (const l of this.doneListeners) l(item.id);
      });
    this.running.add(p);
  }

  private readonly doneListeners = new Set<(id: string) => void>();
  onDone(listener: (id: string) => void): () => void {
    this.doneListeners.add(listener);
    return () => { this.doneListeners.delete(listener); };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.pending.length = 0;
    await drain(this.running, this.closeTimeoutMs);
  }
}

/** A factory for the memory DeliveryStore (default: lib/store/memory-delivery.ts). */
export type DeliveryStoreFactory = (scope: string) => DeliveryStore;

/** The default store: everything in this process. */
export class MemoryStoreProvider extends EventEmitter implements StoreProvider {
  readonly kind = 'memory' as const;
  readonly healthy = true;
  private readonly lockStores = new Map<string, MemoryLocks>();
  private readonly deliveryStores = new Map<string, DeliveryStore>();
  private readonly queues = new Map<string, MemoryWorkQueue<unknown>>();
  private readonly tokenStore = new MemorySharedTokenStore<{ token: string }>();
  private readonly kvStores = new Map<string, MemoryKeyValueStore>();
  private readonly deliveryFactory: DeliveryStoreFactory | undefined;
  readonly instanceId = randomUUID();

  private readonly closeTimeoutMs: number;

  /** `closeTimeoutMs`: how long a work queue's close() waits for its running handlers (default 10000). */
  constructor(opts: { deliveries?: DeliveryStoreFactory; closeTimeoutMs?: number } = {}) {
    super();
    this.deliveryFactory = opts.deliveries;
    this.closeTimeoutMs = opts.closeTimeoutMs ?? 10000;
  }

  deliveries(scope: string): DeliveryStore {
    let s = this.deliveryStores.get(scope);
    if (!s) {
      s = this.deliveryFactory ? this.deliveryFactory(scope) : new MemoryDeliveryStore();
      this.deliveryStores.set(scope, s);
    }
    return s;
  }

  locks(scope: string): Locks {
    let l = this.lockStores.get(scope);
    if (!l || l.closed) {
      l = new MemoryLocks();
      this.lockStores.set(scope, l);
    }
    return l;
  }

  tokens<R extends { token: string }>(): SharedTokenStore<R> {
    return this.tokenStore as unknown as SharedTokenStore<R>;
  }

  kv(scope: string): KeyValueStore {
    let s = this.kvStores.get(scope);
    if (!s) {
      s = new MemoryKeyValueStore();
      this.kvStores.set(scope, s);
    }
    return s;
  }

  queue<T>(name: string, _opts: { claimAfterMs: number; addWaitMs?: number }): WorkQueue<T> {
    let q = this.queues.get(name);
    if (!q || q.closed) {
      q = new MemoryWorkQueue<unknown>(this.closeTimeoutMs);
      this.queues.set(name, q);
    }
    return q as WorkQueue<T>;
  }

  async close(): Promise<void> {
    await Promise.all([
      ...[...this.lockStores.values()].map((l) => l.close()),
      ...[...this.deliveryStores.values()].map((d) => d.close()),
      ...[...this.queues.values()].map((q) => q.close()),
    ]);
  }
}
