/**
 * The state that must be shared between Node-RED instances, as asynchronous interfaces. The config
 * nodes pass one implementation in: memory (a config node's own, one process) or Redis (a
 * `wechat-c4c-redis` config node). Nothing in lib/wechat or lib/c4c knows which one it got.
 *
 * Keys given to a store are already scoped by the caller (account appId or tenant URL); a Redis
 * implementation adds its own prefix and a hash tag so that Redis Cluster keeps one account's keys
 * together.
 */

/** A passive reply exactly as it goes over the wire: every retry gets these same bytes. */
export interface SealedReply {
  statusCode: number;
  contentType: string;
  body: string;
}

/** What `DeliveryStore.claim` tells the caller. */
export type ClaimResult =
  /** This caller is the first delivery: run the flow (`takenOver`: the instance that had it died). */
  | { first: true; takenOver?: boolean }
  /** A retry: the first delivery's reply if it is known already (`null` = answered `success`). */
  | { first: false; reply?: SealedReply | null };

/** What a retry's wait ends with: the first delivery's reply (`null`: `success` or none in time), or the claim itself. */
export type WaitResult = { reply: SealedReply | null } | { takenOver: true };

/**
 * Retry dedupe and reply sharing for one account. Holds only the retry key and the sealed reply
 * (nothing of the request), bounded in bytes in memory and by TTL everywhere.
 */
export interface DeliveryStore {
  /** Claim `key` for `ttlMs` (SET NX PX). */
  claim(key: string, ttlMs: number): Promise<ClaimResult>;
  /** Record the first delivery's reply (first write wins) and wake every waiting retry, on any instance. Resolves the reply that won. */
  complete(key: string, reply: SealedReply | null): Promise<SealedReply | null>;
  /** Wait up to `timeoutMs` for the reply of `key`; `null` on timeout, abort or `success`. */
  waitFor(key: string, timeoutMs: number, signal?: AbortSignal): Promise<SealedReply | null>;
  /**
   * Optional (stores shared by several instances): like `waitFor`, but if the instance that holds
   * the claim dies meanwhile, the claim passes to this caller (`takenOver`: run the flow here).
   */
  waitOrTakeOver?(key: string, timeoutMs: number, ttlMs: number, signal?: AbortSignal): Promise<WaitResult>;
  close(): Promise<void>;
}

/** One access token per account across instances. The record is lib/wechat/api.ts's `TokenRecord`. */
export interface SharedTokenStore<R extends { token: string }> {
  get(appId: string): Promise<R | undefined>;
  set(appId: string, record: R): Promise<void>;
  /** Delete only if the stored token is still `ifToken` (compare-and-delete, one Lua script in Redis). */
  delete(appId: string, ifToken: string): Promise<boolean>;
}

/**
 * Small values shared by the instances, each with a lifetime: caches (a follower's C4C profile) and
 * once-only marks (an sma_id already forwarded). Memory: a TTL cache; Redis: GET / SET PX.
 */
export interface KeyValueStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Set only when the key is absent (SET NX PX): true when this call set it. */
  add(key: string, value: string, ttlMs: number): Promise<boolean>;
  delete(key: string): Promise<void>;
}

/** A held lock: renewed while held, released only by its owner (compare-and-delete). */
export interface LockHandle {
  readonly key: string;
  /** false once the lock was lost (expired without renewal, or Redis forgot it). */
  readonly held: boolean;
  release(): Promise<void>;
}

export interface LockOptions {
  /** lease length; renewed every third of it while held (default 30000) */
  ttlMs?: number;
  /** how long to wait for the lock before failing with code LOCK_TIMEOUT (default: ttlMs) */
  waitMs?: number;
  signal?: AbortSignal;
}

export interface Locks {
  acquire(key: string, opts?: LockOptions): Promise<LockHandle>;
  /** acquire, run, release (also when `task` throws). */
  withLock<T>(key: string, task: () => Promise<T>, opts?: LockOptions): Promise<T>;
  close(): Promise<void>;
}

/** A unit of work as the queue keeps it: JSON-safe data only. */
export interface WorkItem<T> {
  id: string;
  data: T;
  /** true when another consumer took it and never acknowledged it (a dead instance's work). */
  recovered: boolean;
}

/**
 * Work that survives the instance that took it. Memory: run at once in this process. Redis: a
 * Stream with a consumer group (XADD, XREADGROUP, XACK, XAUTOCLAIM after `claimAfterMs`).
 */
export interface WorkQueue<T> {
  /**
   * Enqueue; rejects with code STORE_UNAVAILABLE when the store cannot take it. Items with the same
   * `orderKey` are handled one after the other, in the order they were added — across instances
   * (a follower's messages). An item whose handler failed counts as done: it never blocks the key.
   */
  add(data: T, opts?: { orderKey?: string }): Promise<string>;
  /** Start consuming. The handler's settlement acknowledges the item (resolve or reject alike). */
  consume(handler: (item: WorkItem<T>) => Promise<void>): void;
  /**
   * Hear about work this instance added that is now done — here or on any other instance (Redis:
   * the done channel). For statuses: an instance that only queued the work learns it is finished.
   */
  onDone(listener: (id: string) => void): () => void;
  close(): Promise<void>;
}

/** Everything a config node hands to lib/ — one per `wechat-c4c-redis` node, or a config node's own memory store. */
export interface StoreProvider {
  readonly kind: 'memory' | 'redis';
  deliveries(scope: string): DeliveryStore;
  locks(scope: string): Locks;
  tokens<R extends { token: string }>(): SharedTokenStore<R>;
  kv(scope: string): KeyValueStore;
  /** `addWaitMs`: how long `add` waits for an unreachable store to come back before it fails (Redis; default 5000). */
  queue<T>(name: string, opts: { claimAfterMs: number; addWaitMs?: number }): WorkQueue<T>;
  /** true while the store can be reached (memory: always). */
  readonly healthy: boolean;
  /** 'up' | 'down' transitions, for statuses and warnings. */
  on(event: 'up' | 'down', listener: (err?: Error) => void): unknown;
  close(): Promise<void>;
}
