import { NOT_KEPT, ReplyArena } from './reply-arena';
import type { ClaimResult, DeliveryStore, SealedReply } from './types';

export interface MemoryDeliveryOptions {
  /** Bytes the cache may hold (claim table + sealed replies), as allocated. Default: DEFAULT_DELIVERY_BYTES. */
  maxBytes?: number;
  /**
   * How long a sealed reply is kept once the first delivery completed (default
   * DEFAULT_REPLY_TTL_MS). WeChat's three retries come within 15 s of the first delivery; after
   * this the claim alone stays (for its own TTL) and a late duplicate is answered `success` —
   * it never runs the flow twice.
   */
  replyTtlMs?: number;
  /** How often expired claims and replies are swept while no claims come (default 5000). */
  idleSweepMs?: number;
  now?: () => number;
}

/** A sealed safe-mode reply to a follow is ~700 bytes; with its claim about 1 KiB. */
const BYTES_PER_DELIVERY = 1024;
/** 15 s of WeChat retries at 3,000 messages/s. */
export const DEFAULT_DELIVERY_BYTES = 15 * 3000 * BYTES_PER_DELIVERY;
/** WeChat retries 3 times, 5 s apart: the last one comes within 15 s of the first; 5 s of slack. */
export const DEFAULT_REPLY_TTL_MS = 20000;

/** Claim table slot: 96-bit digest (3 × u32) + expiry (f64) + reply location (f64). */
const SLOT_BYTES = 12 + 8 + 8;
/** Claim order ring record: 96-bit digest + expiry. */
const RING_BYTES = 12 + 8;
const MIN_SLOTS = 256;
const IDLE_SWEEP_MS = 5000;
/** The claim table and its ring may take this share of maxBytes; the replies the rest. */
const CLAIM_SHARE = 0.6;
/** Reply location markers in the claim table. */
const PENDING = -2;
const SUCCESS = NOT_KEPT;

/** murmur3's 32-bit finaliser: every input bit affects every output bit. */
const fmix = (x: number): number => {
  let h = x;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
};

/**
 * The in-process DeliveryStore, holding what a retry needs and nothing more, outside the V8 heap:
 *
 * - a claim is a 96-bit hash of the key, its expiry and where its reply is, in an
 *   open-addressing table of typed arrays (28 bytes a slot, at most 3/4 full), plus a record in
 *   a ring in claim order (20 bytes) for expiry and eviction — kept for the claim's TTL;
 * - a sealed reply is written as bytes into arena segments (≤ 1 MiB) and kept only for
 *   `replyTtlMs` after completion (WeChat's retries end within 15 s); a segment is dropped whole
 *   when its newest reply expired.
 *
 * There is no JS object or string per delivery, so the garbage collector has nothing per delivery
 * to trace or promote, and V8's heap does not grow with the cache. Bounded in bytes as allocated
 * (`maxBytes`): past the bound the oldest replies go first (their retries then get `success`),
 * then the oldest claims.
 */
export class MemoryDeliveryStore implements DeliveryStore {
  readonly maxBytes: number;
  readonly replyTtlMs: number;
  private readonly idleSweepMs: number;
  private readonly now: () => number;
  private readonly maxClaimBytes: number;
  // claim table
  private slots = 0;
  private mask = 0;
  private count = 0;
  private hashes = new Uint32Array(0);
  private expiry = new Float64Array(0);
  private where = new Float64Array(0);
  // claims in claim order
  private ringHashes = new Uint32Array(0);
  private ringExpiry = new Float64Array(0);
  private ringHead = 0;
  private ringLen = 0;
  private readonly replies: ReplyArena;
  private readonly waiters = new Map<string, Set<(reply: SealedReply | null) => void>>();
  private sweepAt = 0;
  /** Sweeps while the webhook is quiet too (claims sweep as they come): expired replies give their memory back. */
  private idleSweep: NodeJS.Timeout | undefined;
  // the digest of the last key looked up
  private a = 0;
  private b = 0;
  private c = 0;

  constructor(opts: MemoryDeliveryOptions = {}) {
    this.maxBytes = opts.maxBytes !== undefined && opts.maxBytes > 0 ? opts.maxBytes : DEFAULT_DELIVERY_BYTES;
    this.replyTtlMs = opts.replyTtlMs !== undefined && opts.replyTtlMs >= 0 ? opts.replyTtlMs : DEFAULT_REPLY_TTL_MS;
    this.now = opts.now ?? Date.now;
    this.idleSweepMs = opts.idleSweepMs !== undefined && opts.idleSweepMs > 0 ? opts.idleSweepMs : IDLE_SWEEP_MS;
    this.maxClaimBytes = Math.max((SLOT_BYTES + RING_BYTES) * MIN_SLOTS, Math.floor(this.maxBytes * CLAIM_SHARE));
    this.replies = new ReplyArena(this.maxBytes, this.replyTtlMs, (size) => this.bytes + size <= this.maxBytes);
    this.resize(MIN_SLOTS);
    this.resizeRing(MIN_SLOTS);
  }

  /** Bytes allocated now: claim table + ring + reply segments. */
  get bytes(): number {
    return this.claimBytes() + this.replies.bytes;
  }

  /** Claims held (first deliveries within their TTL, expired ones not yet swept included). */
  get size(): number {
    return this.count;
  }

  /** Reply segments held. */
  get segmentCount(): number {
    return this.replies.segmentCount;
  }

  async claim(key: string, ttlMs: number): Promise<ClaimResult> {
    const now = this.now();
    if (now >= this.sweepAt) this.sweep(now);
    if (!this.idleSweep) this.armIdleSweep();
    this.digest(key);
    const slot = this.find();
    const expires = now + Math.max(1, ttlMs);
    if (slot >= 0) {
      if (this.expiry[slot] > now) {
        const loc = this.where[slot];
        return loc === PENDING ? { first: false } : { first: false, reply: this.replies.replyAt(loc) };
      }
      // expired, not yet swept: a new claim in the same slot
      this.expiry[slot] = expires;
      this.where[slot] = PENDING;
    } else {
      if ((this.count + 1) * 4 > this.slots * 3) this.growTable();
      this.insert(expires);
    }
    this.push(expires);
    return { first: true };
  }

  async complete(key: string, reply: SealedReply | null): Promise<SealedReply | null> {
    const now = this.now();
    this.digest(key);
    const slot = this.find();
    let winner = reply;
    if (slot >= 0 && this.expiry[slot] > now) {
      const loc = this.where[slot];
      if (loc !== PENDING) winner = this.replies.replyAt(loc);
      else {
        // write() drops only reply segments, never claims: the slot stays where it is.
        this.where[slot] = reply ? this.replies.write(reply, now) : SUCCESS;
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
    this.digest(key);
    const slot = this.find();
    if (slot >= 0 && this.expiry[slot] > this.now() && this.where[slot] !== PENDING) return Promise.resolve(this.replies.replyAt(this.where[slot]));
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
    clearTimeout(this.idleSweep);
    this.idleSweep = undefined;
    for (const set of [...this.waiters.values()]) for (const resolve of [...set]) resolve(null);
    this.waiters.clear();
    this.count = 0;
    this.slots = 0;
    this.expiry = new Float64Array(0);
    this.resize(MIN_SLOTS);
    this.ringLen = 0;
    this.resizeRing(MIN_SLOTS);
    this.replies.clear();
  }

  /**
   * A sweep timer only while something is held: an idle, empty store has no timer, and a store
   * dropped without close() empties itself within its TTLs and can then be collected.
   */
  private armIdleSweep(): void {
    this.idleSweep = setTimeout(() => {
      this.idleSweep = undefined;
      this.sweep(this.now());
      if (this.count > 0 || this.replies.segmentCount > 0) this.armIdleSweep();
    }, this.idleSweepMs);
    this.idleSweep.unref();
  }

  // --- the claim table: open addressing, linear probing, backward-shift deletion ---------------

  /**
   * 96 bits of hash of the key, in three 32-bit lanes (multiply-xor per character, murmur3's
   * finaliser, lanes cross-mixed). Not a cryptographic hash, and it need not be: keys come only
   * from requests that passed the signature check, and their parts (OpenID, MsgId, CreateTime,
   * Event, EventKey) are chosen by WeChat or the account, not by a sender. Two of 400,000 live
   * keys sharing all 96 bits: about 1 in 10^18. SHA-1 here cost ~3 µs a call (a third of the
   * store's time); this costs ~0.1 µs.
   */
  private digest(key: string): void {
    const n = key.length;
    let h1 = 0x811c9dc5 ^ n;
    let h2 = 0x41c6ce57 ^ n;
    let h3 = 0x9e3779b9 ^ n;
    for (let i = 0; i < n; i++) {
      const ch = key.charCodeAt(i);
      h1 = Math.imul(h1 ^ ch, 0x9e3779b1);
      h2 = Math.imul(h2 ^ ch, 0x85ebca77);
      h3 = Math.imul(h3 ^ ch, 0xc2b2ae3d);
    }
    h1 = fmix(h1 ^ Math.imul(h2, 0x27d4eb2f));
    h2 = fmix(h2 ^ Math.imul(h3, 0x165667b1));
    h3 = fmix(h3 ^ Math.imul(h1, 0x9e3779b1));
    this.a = h1;
    this.b = h2;
    this.c = h3;
  }

  /** The slot of the current digest, or -1. */
  private find(): number {
    const { hashes, expiry, mask } = this;
    for (let i = this.a & mask; ; i = (i + 1) & mask) {
      if (expiry[i] === 0) return -1;
      if (hashes[i * 3] === this.a && hashes[i * 3 + 1] === this.b && hashes[i * 3 + 2] === this.c) return i;
    }
  }

  private insert(expires: number, where = PENDING): void {
    const { hashes, expiry, mask } = this;
    let i = this.a & mask;
    while (expiry[i] !== 0) i = (i + 1) & mask;
    hashes[i * 3] = this.a;
    hashes[i * 3 + 1] = this.b;
    hashes[i * 3 + 2] = this.c;
    expiry[i] = expires;
    this.where[i] = where;
    this.count++;
  }

  private remove(slot: number): void {
    const { hashes, expiry, where, mask } = this;
    let i = slot;
    let j = slot;
    for (;;) {
      j = (j + 1) & mask;
      if (expiry[j] === 0) break;
      const home = hashes[j * 3] & mask;
      // the entry at j may move to i only if its home slot is not cyclically within (i, j]
      if (i <= j ? i < home && home <= j : i < home || home <= j) continue;
      hashes[i * 3] = hashes[j * 3];
      hashes[i * 3 + 1] = hashes[j * 3 + 1];
      hashes[i * 3 + 2] = hashes[j * 3 + 2];
      expiry[i] = expiry[j];
      where[i] = where[j];
      i = j;
    }
    expiry[i] = 0;
    this.count--;
  }

  private resize(slots: number): void {
    const old = { hashes: this.hashes, expiry: this.expiry, where: this.where, slots: this.slots };
    this.slots = slots;
    this.mask = slots - 1;
    this.hashes = new Uint32Array(slots * 3);
    this.expiry = new Float64Array(slots);
    this.where = new Float64Array(slots);
    this.count = 0;
    for (let i = 0; i < old.slots; i++) {
      if (old.expiry[i] === 0) continue;
      this.a = old.hashes[i * 3];
      this.b = old.hashes[i * 3 + 1];
      this.c = old.hashes[i * 3 + 2];
      this.insert(old.expiry[i], old.where[i]);
    }
  }

  /** Double the table if the bound allows; else make room by evicting the oldest claims. */
  private growTable(): void {
    const { a, b, c } = this;
    if (this.claimBytes() + this.slots * SLOT_BYTES <= this.maxClaimBytes) this.resize(this.slots * 2);
    else while ((this.count + 1) * 4 > this.slots * 3 && this.ringLen > 0) this.popRing(Infinity);
    this.a = a;
    this.b = b;
    this.c = c;
  }

  private claimBytes(): number {
    return this.slots * SLOT_BYTES + (this.ringHashes.length / 3) * RING_BYTES;
  }

  // --- the ring of claims in claim order ---------------------------------------------------------

  private push(expires: number): void {
    let cap = this.ringExpiry.length;
    if (this.ringLen === cap) {
      if (this.claimBytes() + cap * RING_BYTES <= this.maxClaimBytes) this.resizeRing(cap * 2);
      else {
        const { a, b, c } = this;
        this.popRing(Infinity);
        this.a = a;
        this.b = b;
        this.c = c;
      }
      cap = this.ringExpiry.length;
    }
    const at = (this.ringHead + this.ringLen) % cap;
    this.ringHashes[at * 3] = this.a;
    this.ringHashes[at * 3 + 1] = this.b;
    this.ringHashes[at * 3 + 2] = this.c;
    this.ringExpiry[at] = expires;
    this.ringLen++;
  }

  /**
   * Drop the oldest ring record if it expired by `now` (Infinity: evict regardless) and its claim
   * with it, unless the claim was renewed since (then a later record stands for it). false when
   * the oldest record is still live.
   */
  private popRing(now: number): boolean {
    if (this.ringLen === 0) return false;
    const cap = this.ringExpiry.length;
    const h = this.ringHead;
    const expires = this.ringExpiry[h];
    if (expires > now) return false;
    this.a = this.ringHashes[h * 3];
    this.b = this.ringHashes[h * 3 + 1];
    this.c = this.ringHashes[h * 3 + 2];
    this.ringHead = (h + 1) % cap;
    this.ringLen--;
    const slot = this.find();
    if (slot >= 0 && this.expiry[slot] === expires) this.remove(slot);
    return true;
  }

  private resizeRing(cap: number): void {
    const old = { hashes: this.ringHashes, expiry: this.ringExpiry };
    const oldCap = old.expiry.length;
    this.ringHashes = new Uint32Array(cap * 3);
    this.ringExpiry = new Float64Array(cap);
    for (let k = 0; k < this.ringLen; k++) {
      const from = (this.ringHead + k) % oldCap;
      this.ringHashes.set(old.hashes.subarray(from * 3, from * 3 + 3), k * 3);
      this.ringExpiry[k] = old.expiry[from];
    }
    this.ringHead = 0;
  }

  // --- replies -----------------------------------------------------------------------------------

  /**
   * Expired claims and reply segments out, at most once a second (both are in time order: stop
   * at the first live one); the table and ring shrink back when mostly empty.
   */
  private sweep(now: number): void {
    this.sweepAt = now + 1000;
    while (this.popRing(now));
    this.replies.sweep(now);
    let slots = this.slots;
    while (slots > MIN_SLOTS && this.count * 8 < slots) slots /= 2;
    if (slots !== this.slots) this.resize(slots);
    let cap = this.ringExpiry.length;
    while (cap > MIN_SLOTS && this.ringLen * 4 < cap) cap /= 2;
    if (cap !== this.ringExpiry.length) this.resizeRing(cap);
  }
}
