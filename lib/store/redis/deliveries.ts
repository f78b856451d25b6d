/**
 * Retry claims and sealed replies in Redis: a claim key per retry key (CLAIM script, taken over
 * when the holder instance's heartbeat is gone), the reply first-write-wins (COMPLETE script) and
 * published on the scope's reply channel to wake retries waiting on any instance.
 */
import type { ClaimResult, DeliveryStore, SealedReply, WaitResult } from '../types';
import type { RedisStoreProvider } from './provider';
import { CLAIM, COMPLETE } from './scripts';

export class RedisDeliveryStore implements DeliveryStore {
  private readonly channel: string;
  constructor(private readonly p: RedisStoreProvider, private readonly scope: string) {
    this.channel = p.key(scope, 'replies', 'channel');
  }

  private replyKey(key: string): string { return this.p.key(this.scope, 'reply', key); }

  private static decode(v: string | null): SealedReply | null | undefined {
    if (v === null || v === undefined) return undefined;
    const parsed = JSON.parse(v) as { r: SealedReply | null };
    return parsed.r;
  }

  /** The CLAIM script: 1 first, 2 taken over from a dead holder, 0 with the stored reply (undefined: none yet). */
  private async runClaim(key: string, ttlMs: number): Promise<{ code: number; reply: SealedReply | null | undefined }> {
    // bounded well inside WeChat's 5 s: a hung Redis must leave time to answer from memory
    const res = await this.p.cmd<[number, string?]>(['EVAL', CLAIM, '2', this.p.key(this.scope, 'claim', key), this.replyKey(key), this.p.instanceId, String(ttlMs), this.p.aliveKeyPrefix(this.scope)], undefined, this.p.claimTimeoutMs);
    const code = Number(res?.[0]);
    return { code, reply: code === 0 ? RedisDeliveryStore.decode(res?.[1] ?? null) : undefined };
  }

  async claim(key: string, ttlMs: number): Promise<ClaimResult> {
    this.p.heartbeat(this.scope);
    const { code, reply } = await this.runClaim(key, ttlMs);
    if (code === 1) return { first: true };
    if (code === 2) return { first: true, takenOver: true };
    return reply === undefined ? { first: false } : { first: false, reply };
  }

  async complete(key: string, reply: SealedReply | null, ttlMs = 60000): Promise<SealedReply | null> {
    const v = await this.p.cmd<string>(['EVAL', COMPLETE, '2', this.replyKey(key), this.channel, JSON.stringify({ r: reply }), String(ttlMs), key]);
    return RedisDeliveryStore.decode(v) ?? null;
  }

  async waitFor(key: string, timeoutMs: number, signal?: AbortSignal): Promise<SealedReply | null> {
    const got = await this.poll(key, timeoutMs, signal, async () => RedisDeliveryStore.decode(await this.p.cmd<string | null>(['GET', this.replyKey(key)], undefined, this.p.claimTimeoutMs)));
    return got ?? null;
  }

  /**
   * A retry's wait that also watches the first delivery's instance: the first reply, or — once the
   * holder's heartbeat is gone (it died with the delivery in its flow) — the claim for this caller.
   */
  async waitOrTakeOver(key: string, timeoutMs: number, ttlMs: number, signal?: AbortSignal): Promise<WaitResult> {
    const got = await this.poll<WaitResult>(key, timeoutMs, signal, async () => {
      const { code, reply } = await this.runClaim(key, ttlMs);
      if (code !== 0) return { takenOver: true };
      return reply === undefined ? undefined : { reply };
    });
    return got ?? { reply: null };
  }

  /** Probe until it gives an answer, woken by the reply channel and every 250 ms; undefined on timeout or abort. */
  private async poll<T>(key: string, timeoutMs: number, signal: AbortSignal | undefined, probe: () => Promise<T | undefined>): Promise<T | undefined> {
    if (signal?.aborted) return undefined;
    const ac = new AbortController();
    const onAbort = (): void => ac.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => ac.abort(), timeoutMs);
    // a hung Redis must not hold the answer past the wait: each probe races the deadline
    const aborted = new Promise<undefined>((resolve) => {
      if (ac.signal.aborted) resolve(undefined);
      ac.signal.addEventListener('abort', () => resolve(undefined), { once: true });
    });
    let unlisten: (() => void) | undefined;
    let wakeUp: () => void = () => undefined;
    try {
      try {
        unlisten = await this.p.listen(this.channel, (k) => { if (k === key) wakeUp(); });
      } catch { /* poll only */ }
      // poll (also covers a message published before we subscribed)
      while (!ac.signal.aborted) {
        let v: T | undefined;
        try {
          v = await Promise.race([probe(), aborted]);
        } catch { v = undefined; }
        if (v !== undefined) return v;
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, 250);
          function done(): void { clearTimeout(t); ac.signal.removeEventListener('abort', done); wakeUp = () => undefined; resolve(); }
          wakeUp = done;
          ac.signal.addEventListener('abort', done, { once: true });
        });
      }
      return undefined;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      unlisten?.();
    }
  }

  async close(): Promise<void> {
    this.p.untrack(this); // connections belong to the provider
  }
}
