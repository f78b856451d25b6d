import { TtlCache, type TtlStore } from '../util/ttl-cache';

/** A passive reply as it went (or will go) over the wire. */
export interface CachedReply {
  statusCode: number;
  contentType: string;
  body: string;
}

/** What the reply needs to know about the request, kept server-side (never in `msg`). */
export interface DeliveryInfo {
  /** Which EncodingAESKey decrypted the request (0 current, 1 previous, -1 plaintext); the reply uses the same. */
  keyIndex: number;
  /** The account's gh_ id (the request's ToUserName): the reply's FromUserName. */
  accountId: string;
  /** The follower's OpenID (the request's FromUserName): the reply's ToUserName. */
  follower: string;
  /** The request's MsgType (a news reply to a user's message may carry 1 article only). */
  msgType: string;
}

export interface DedupeEntry extends DeliveryInfo {
  /** How long the entry lives, in ms. */
  ttlMs: number;
  /** The reply, once known. `null` = answered by something else: retries get `success`. */
  reply?: CachedReply | null;
}

export const SUCCESS_REPLY: CachedReply = Object.freeze({ statusCode: 200, contentType: 'text/plain; charset=utf-8', body: 'success' });

/**
 * Remembers each delivery by its dedupe key so that WeChat's retries (same MsgId, or same
 * FromUserName + CreateTime + Event) get the first delivery's reply instead of running the flow again.
 */
export class DedupeCache {
  private readonly waiters = new Map<string, Set<(reply: CachedReply | null) => void>>();

  constructor(private readonly store: TtlStore<DedupeEntry> = new TtlCache<DedupeEntry>(50000)) {}

  /**
   * Record a delivery. Returns the existing entry when this is a retry within `windowMs`
   * (`windowMs` 0 = dedupe off: every delivery is new; the entry still carries the key index).
   */
  begin(key: string, info: DeliveryInfo, windowMs: number, holdMs: number): DedupeEntry | undefined {
    if (windowMs > 0) {
      const existing = this.store.get(key);
      if (existing) return existing;
    }
    const ttlMs = Math.max(windowMs, holdMs);
    this.store.set(key, { ...info, ttlMs }, ttlMs);
    return undefined;
  }

  get(key: string): DedupeEntry | undefined {
    return this.store.get(key);
  }

  /** Store the reply for `key` (first one wins) and hand it to retries waiting for it. */
  complete(key: string, reply: CachedReply | null): void {
    const entry = this.store.get(key);
    if (entry && entry.reply !== undefined) reply = entry.reply;
    else if (entry) {
      entry.reply = reply;
      this.store.replace(key, entry); // in memory the same object; a shared store needs the write
    }
    const waiting = this.waiters.get(key);
    if (waiting) {
      this.waiters.delete(key);
      for (const resolve of waiting) resolve(reply);
    }
  }

  /** Wait up to `timeoutMs` for the first delivery's reply. Resolves `null` on timeout or abort. */
  waitFor(key: string, timeoutMs: number, signal?: AbortSignal): Promise<CachedReply | null> {
    const entry = this.store.get(key);
    if (entry && entry.reply !== undefined) return Promise.resolve(entry.reply);
    if (signal?.aborted) return Promise.resolve(null);
    return new Promise((resolve) => {
      let set = this.waiters.get(key);
      if (!set) this.waiters.set(key, (set = new Set()));
      const waiters = set;
      const finish = (reply: CachedReply | null): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', abort);
        waiters.delete(finish);
        if (waiters.size === 0 && this.waiters.get(key) === waiters) this.waiters.delete(key);
        resolve(reply);
      };
      const abort = (): void => finish(null);
      const timer = setTimeout(abort, timeoutMs);
      signal?.addEventListener('abort', abort, { once: true });
      waiters.add(finish);
    });
  }

  /** Resolve everything still waiting (on close/redeploy) and forget all entries. */
  clear(): void {
    for (const set of this.waiters.values()) for (const resolve of set) resolve(null);
    this.waiters.clear();
    this.store.clear();
  }
}
