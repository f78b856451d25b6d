/**
 * The store behind per-account caches. The in-memory one is the default; a shared store (Redis)
 * can implement the same interface later without touching the nodes.
 */
export interface TtlStore<V> {
  get(key: string): V | undefined;
  set(key: string, value: V, ttlMs: number): void;
  /** Replace the value of a live entry, keeping its expiry. */
  replace(key: string, value: V): void;
  delete(key: string): void;
  clear(): void;
  readonly size: number;
}

interface Slot<V> {
  value: V;
  expires: number;
}

/**
 * An in-memory TTL map with a size bound: expired entries are dropped lazily and by a sweep at
 * most once a second on insert; past `maxEntries` the oldest insertions go first (O(1) each).
 * No timers, so nothing to clear.
 */
export class TtlCache<V> implements TtlStore<V> {
  private readonly map = new Map<string, Slot<V>>();
  private sweepAt = 0;

  constructor(private readonly maxEntries = 10000, private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.map.size;
  }

  get(key: string): V | undefined {
    const slot = this.map.get(key);
    if (!slot) return undefined;
    if (slot.expires <= this.now()) {
      this.map.delete(key);
      return undefined;
    }
    return slot.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    const now = this.now();
    const expires = now + Math.max(0, ttlMs);
    this.map.delete(key); // re-insert at the end: insertion order is age order
    this.map.set(key, { value, expires });
    if (now >= this.sweepAt) this.sweep(now);
    while (this.map.size > this.maxEntries) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      this.map.delete(oldest.value);
    }
  }

  replace(key: string, value: V): void {
    const slot = this.map.get(key);
    if (slot && slot.expires > this.now()) slot.value = value;
  }

  delete(key: string): void {
    this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  /** Drop expired entries, at most once a second (a full pass, amortised over the inserts). */
  private sweep(now: number): void {
    this.sweepAt = now + 1000;
    for (const [k, slot] of this.map) {
      if (slot.expires <= now) this.map.delete(k);
    }
  }
}
