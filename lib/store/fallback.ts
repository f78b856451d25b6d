/**
 * What keeps an account answering while Redis cannot be reached: retry dedupe and tokens fall
 * back to this instance's memory (with a report through `onError`), and go back to Redis by
 * themselves once it answers again. Locks and the work queue do not fall back: a lock that only
 * this instance knows could let two instances create the same customer, so their callers get
 * STORE_UNAVAILABLE instead.
 */
import type { ClaimResult, DeliveryStore, SealedReply, SharedTokenStore, WaitResult } from './types';
import { isStoreUnavailable } from './errors';
import { TtlCache } from '../util/ttl-cache';

export class FallbackDeliveryStore implements DeliveryStore {
  /** Keys claimed in memory while Redis was down (for their claim's lifetime), so that their reply is completed and awaited there too. */
  private readonly localKeys = new TtlCache<true>(100000);
  private isLocal(key: string): boolean { return this.localKeys.size > 0 && this.localKeys.get(key) === true; }
  private failing = false;

  /** `onError` on every failure that made it fall back; `onRecover` on the first success after one. */
  constructor(
    private readonly primary: DeliveryStore,
    private readonly memory: DeliveryStore,
    private readonly onError: (err: Error) => void = () => undefined,
    private readonly onRecover: () => void = () => undefined,
  ) {}

  /** true from a failure until Redis answers a claim again. */
  get degraded(): boolean {
    return this.failing;
  }

  async claim(key: string, ttlMs: number): Promise<ClaimResult> {
    // claimed here while Redis was down: a retry after Redis came back is still a retry
    if (this.isLocal(key)) return this.memory.claim(key, ttlMs);
    try {
      const claim = await this.primary.claim(key, ttlMs);
      if (this.failing) {
        this.failing = false;
        this.onRecover();
      }
      return claim;
    } catch (err) {
      if (!isStoreUnavailable(err)) throw err;
      this.failing = true;
      this.onError(err as Error);
      this.localKeys.set(key, true, ttlMs);
      return this.memory.claim(key, ttlMs);
    }
  }

  async complete(key: string, reply: SealedReply | null): Promise<SealedReply | null> {
    if (this.isLocal(key)) return this.memory.complete(key, reply);
    try {
      return await this.primary.complete(key, reply);
    } catch (err) {
      if (!isStoreUnavailable(err)) throw err;
      this.failing = true; // the next claim that reaches Redis reports the recovery
      this.onError(err as Error);
      return this.memory.complete(key, reply);
    }
  }

  waitFor(key: string, timeoutMs: number, signal?: AbortSignal): Promise<SealedReply | null> {
    return this.isLocal(key) ? this.memory.waitFor(key, timeoutMs, signal) : this.primary.waitFor(key, timeoutMs, signal);
  }

  async waitOrTakeOver(key: string, timeoutMs: number, ttlMs: number, signal?: AbortSignal): Promise<WaitResult> {
    if (this.isLocal(key) || !this.primary.waitOrTakeOver) return { reply: await this.waitFor(key, timeoutMs, signal) };
    return this.primary.waitOrTakeOver(key, timeoutMs, ttlMs, signal);
  }

  async close(): Promise<void> {
    await Promise.all([this.primary.close(), this.memory.close()]);
  }
}

/**
 * Tokens in Redis, with this instance's copy as the fallback: written to both, read from Redis,
 * from memory while Redis cannot be reached.
 */
export class FallbackTokenStore<R extends { token: string }> implements SharedTokenStore<R> {
  private failing = false;

  constructor(
    private readonly primary: SharedTokenStore<R>,
    private readonly memory: SharedTokenStore<R>,
    private readonly onError: (err: Error) => void = () => undefined,
    private readonly onRecover: () => void = () => undefined,
  ) {}

  private ok<T>(value: T): T {
    if (this.failing) {
      this.failing = false;
      this.onRecover();
    }
    return value;
  }

  private failed(err: unknown): void {
    if (!isStoreUnavailable(err)) throw err;
    this.failing = true;
    this.onError(err as Error);
  }

  async get(appId: string): Promise<R | undefined> {
    try {
      return this.ok(await this.primary.get(appId));
    } catch (err) {
      this.failed(err);
      return this.memory.get(appId);
    }
  }

  async set(appId: string, record: R): Promise<void> {
    await this.memory.set(appId, record);
    try {
      this.ok(await this.primary.set(appId, record));
    } catch (err) {
      this.failed(err);
    }
  }

  async delete(appId: string, ifToken: string): Promise<boolean> {
    const local = await this.memory.delete(appId, ifToken);
    try {
      return this.ok(await this.primary.delete(appId, ifToken));
    } catch (err) {
      this.failed(err);
      return local;
    }
  }
}
