import type { ClaimResult, DeliveryStore, SealedReply } from './types';

export interface MemoryDeliveryOptions {
  /** Bytes the cache may hold (keys + sealed replies + bookkeeping). Default: DEFAULT_DELIVERY_BYTES. */
  maxBytes?: number;
  now?: () => number;
}

/** Per entry beyond its strings: the Map slot, the entry object, the reply object (measured roughly). */
const ENTRY_OVERHEAD = 160;
/** A sealed safe-mode reply to a follow is ~700 bytes; with its key and overhead about 1 KiB. */
export const BYTES_PER_DELIVERY = 1024;
/** 15 s of WeChat retries at 3,000 messages/s. */
export const DEFAULT_DELIVERY_BYTES = 15 * 3000 * BYTES_PER_DELIVERY;

interface Entry {
  expires: number;
  bytes: number;
  /** undefined: the first delivery is still in the flow; null: answered `success`. */
  reply: SealedReply | null | undefined;
}

/**
 * A fresh flat copy of a string. A key cut out of the decrypted message (a V8 sliced string) would
 * otherwise keep the whole request text alive, and a reply built by concatenation keeps its parts.
 */
const own = (text: string): string => Buffer.from(text, 'utf8').toString('utf8');

const sizeOf = (key: string, reply: SealedReply | null | undefined): number =>
  ENTRY_OVERHEAD + key.length * 2 + (reply ? (reply.body.length + reply.contentType.length) * 2 : 0);

/**
 * The in-process DeliveryStore: the retry key and the sealed reply, nothing of the request,
 * bounded in bytes (oldest claims go first past `maxBytes`) and by TTL. Waiting retries are woken
 * by `complete` in this process.
 */
export class MemoryDeliveryStore implements DeliveryStore {
  readonly maxBytes: number;
  private readonly entries = new Map<string, Entry>();
  private readonly waiters = new Map<string, Set<(reply: SealedReply | null) => void>>();
  private readonly now: () => number;
  private total = 0;
  private sweepAt = 0;

  constructor(opts: MemoryDeliveryOptions = {}) {
    this.maxBytes = opts.maxBytes !== undefined && opts.maxBytes > 0 ? opts.maxBytes : DEFAULT_DELIVERY_BYTES;
    this.now = opts.now ?? Date.now;
  }

  /** Bytes held now (estimated from string lengths). */
  get bytes(): number {
    return this.total;
  }

  get size(): number {
    return this.entries.size;
  }

  private live(key: string, now: number): Entry | undefined {
    const e = this.entries.get(key);
    if (e && e.expires <= now) {
      this.drop(key, e);
      return undefined;
    }
    return e;
  }

  private drop(key: string, e: Entry): void {
    this.entries.delete(key);
    this.total -= e.bytes;
  }

  async claim(key: string, ttlMs: number): Promise<ClaimResult> {
    const now = this.now();
    const existing = this.live(key, now);
    if (existing) return existing.reply === undefined ? { first: false } : { first: false, reply: existing.reply };
    const e: Entry = { expires: now + Math.max(1, ttlMs), bytes: sizeOf(key, undefined), reply: undefined };
    this.entries.set(own(key), e);
    this.total += e.bytes;
    if (now >= this.sweepAt) this.sweep(now);
    this.evict();
    return { first: true };
  }

  async complete(key: string, reply: SealedReply | null): Promise<SealedReply | null> {
    const e = this.live(key, this.now());
    let winner = reply;
    if (e) {
      if (e.reply !== undefined) winner = e.reply;
      else {
        const copy = reply ? { statusCode: reply.statusCode, contentType: reply.contentType, body: own(reply.body) } : null;
        e.reply = copy;
        const bytes = sizeOf(key, copy);
        this.total += bytes - e.bytes;
        e.bytes = bytes;
        this.evict();
      }
    }
    const waiting = this.waiters.get(key);
    if (waiting) {
      this.waiters.delete(key);
      for (const resolve of waiting) resolve(winner);
    }
    return winner;
  }

  waitFor(key: string, timeoutMs: number, signal?: AbortSignal): Promise<SealedReply | null> {
    const e = this.live(key, this.now());
    if (e && e.reply !== undefined) return Promise.resolve(e.reply);
    if (signal?.aborted) return Promise.resolve(null);
    return new Promise((resolve) => {
      let set = this.waiters.get(key);
      if (!set) this.waiters.set(key, (set = new Set()));
      const waiters = set;
      const finish = (reply: SealedReply | null): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', abort);
        waiters.delete(finish);
        if (waiters.size === 0 && this.waiters.get(key) === waiters) this.waiters.delete(key);
        resolve(reply);
      };
      const abort = (): void => finish(null);
      const timer = setTimeout(abort, Math.max(0, timeoutMs));
      signal?.addEventListener('abort', abort, { once: true });
      waiters.add(finish);
    });
  }

  async close(): Promise<void> {
    for (const set of [...this.waiters.values()]) for (const resolve of [...set]) resolve(null);
    this.waiters.clear();
    this.entries.clear();
    this.total = 0;
  }

  /** Oldest claims first (insertion order) until within the byte bound. */
  private evict(): void {
    while (this.total > this.maxBytes && this.entries.size > 0) {
      const [key, e] = this.entries.entries().next().value as [string, Entry];
      this.drop(key, e);
    }
  }

  /** Expired entries out, at most once a second. */
  private sweep(now: number): void {
    this.sweepAt = now + 1000;
    for (const [k, e] of this.entries) if (e.expires <= now) this.drop(k, e);
  }
}
