/**
 * The work queue in Redis: a Stream with a consumer group (XADD, XREADGROUP, XACK, XAUTOCLAIM
 * after `claimAfterMs`), a done channel and done marks, and the work this instance added kept
 * until someone reports it done, so that a Redis that came back empty loses nothing. Items with an
 * order key also go into that key's order list (one Lua step with the XADD); an instance runs such
 * an item only when it heads the list, and waits for the done report of the head otherwise.
 */
import { setMaxListeners } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { WorkItem, WorkQueue } from '../types';
import { drain, sleep } from '../../util/backoff';
import { StoreError } from '../errors';
import type { RedisClient, RedisStoreProvider } from './provider';
import { ACK, ADD_ORDERED, ORDER_HEAD } from './scripts';

type StreamEntry = [string, string[] | null];

/** An order list outlives its last add by this long (a list nobody cleans up goes by itself). */
const ORDER_TTL_MS = 24 * 3600 * 1000;
/** A wait for the item ahead asks Redis again after this long at most, done report or not. */
const TURN_RECHECK_MS = 2000;

/** What this instance added: the data and its order key. */
interface Added<T> {
  data: T;
  orderKey?: string;
}

/**
 * The entries of an XREADGROUP reply. node-redis gives the RESP2 array `[[stream, entries]]` or,
 * depending on version and protocol, a map keyed by stream name (a plain object or a Map).
 */
function streamEntries(res: unknown): StreamEntry[] {
  if (!res) return [];
  const lists: unknown[] = Array.isArray(res)
    ? res.map((r) => (Array.isArray(r) ? r[1] : undefined))
    : res instanceof Map ? [...res.values()] : Object.values(res as Record<string, unknown>);
  const out: StreamEntry[] = [];
  for (const l of lists) if (Array.isArray(l)) out.push(...(l as StreamEntry[]));
  return out;
}

export class RedisWorkQueue<T> implements WorkQueue<T> {
  private readonly stream: string;
  private readonly doneChannel: string;
  private readonly group = 'workers';
  private readonly consumer: string;
  private handler: ((item: WorkItem<T>) => Promise<void>) | undefined;
  private readonly running = new Map<string, Promise<void>>();
  /** Handled, but the XACK did not reach Redis: acknowledged when it is back (kept claimed meanwhile); id → order key. */
  private readonly ackLater = new Map<string, string | undefined>();
  /** Items waiting for their turn, by the id of the head they wait for: woken by its done report. */
  private readonly turnWaiters = new Map<string, Set<() => void>>();
  /**
   * What this instance added and nobody has reported done (the done channel) yet. If Redis loses
   * the stream (restarted without persistence), these are added again: the work is not lost.
   */
  private readonly mine = new Map<string, Added<T>>();
  /** The stream's epoch as this instance last saw it (see ensureGroup). */
  private epoch: string | undefined;
  private readonly epochKey: string;
  private readonly onUp = (): void => {
    this.groupReady = undefined;
    // work whose re-add failed (Redis went away again meanwhile): add it now that Redis is back
    if (this.readdLater.length && !this.closed) void this.ensureGroup().then(() => this.flushReaddLater(), () => undefined);
  };
  /** Lost work whose re-add failed: tried again when Redis is back ('up'). */
  private readonly readdLater: Added<T>[] = [];
  private readonly readdTimers = new Set<NodeJS.Timeout>();
  private closed = false;
  private loop: Promise<void> | undefined;
  private readonly ac = new AbortController();
  private reader: RedisClient | undefined;
  private groupReady: Promise<void> | undefined;
  private unlisten: Promise<(() => void) | undefined> | undefined;
  private keepAlive: NodeJS.Timeout | undefined;

  constructor(private readonly p: RedisStoreProvider, name: string, private readonly claimAfterMs: number, private readonly addWaitMs: number) {
    this.stream = p.key(name, 'queue', 'stream');
    this.doneChannel = p.key(name, 'queue', 'done');
    this.epochKey = p.key(name, 'queue', 'epoch');
    this.consumer = p.instanceId;
    setMaxListeners(0, this.ac.signal); // every acknowledgement retry pause listens
    p.on('up', this.onUp);
  }

  /**
   * Make sure the stream and its group exist, and notice when Redis lost them: the stream's epoch
   * key (set once, with the group) changes only when Redis came back empty — then this instance
   * adds again the work it queued that nobody finished. Checked again after every reconnect.
   */
  private ensureGroup(): Promise<void> {
    if (!this.groupReady) {
      this.groupReady = (async () => {
        try {
          await this.p.cmd(['XGROUP', 'CREATE', this.stream, this.group, '0', 'MKSTREAM']);
        } catch (err) {
          if (!/BUSYGROUP/.test((err as Error).message)) throw err;
        }
        await this.p.cmd(['SET', this.epochKey, randomUUID(), 'NX']);
        const epoch = await this.p.cmd<string | null>(['GET', this.epochKey]);
        if (this.epoch !== undefined && epoch !== this.epoch) this.lost();
        this.epoch = epoch ?? undefined;
      })().catch((err: Error) => {
        this.groupReady = undefined;
        throw err;
      });
    }
    return this.groupReady;
  }

  private listenDone(): void {
    if (this.unlisten) return;
    this.unlisten = this.p.listen(this.doneChannel, (id) => {
      const waiters = this.turnWaiters.get(id);
      if (waiters) for (const wake of waiters) wake();
      if (!this.mine.delete(id)) return;
      for (const l of this.doneListeners) l(id);
    }).catch(() => { this.unlisten = undefined; return undefined; });
  }

  private readonly doneListeners = new Set<(id: string) => void>();
  onDone(listener: (id: string) => void): () => void {
    this.doneListeners.add(listener);
    return () => { this.doneListeners.delete(listener); };
  }

  async add(data: T, opts: { orderKey?: string } = {}): Promise<string> {
    if (this.closed) throw new StoreError('STORE_UNAVAILABLE', 'work queue is closed');
    // Redis away for a moment (a restart, a failover): wait for it rather than fail the work at once
    if (!(await this.p.waitForRedis(this.addWaitMs))) throw new StoreError('STORE_UNAVAILABLE', `Redis not reachable within ${this.addWaitMs} ms`);
    this.listenDone();
    await this.unlisten; // subscribed before the first add: no done report can pass unheard
    await this.ensureGroup();
    return this.xadd({ data, orderKey: opts.orderKey || undefined }, false);
  }

  private async xadd(added: Added<T>, readded: boolean): Promise<string> {
    const data = JSON.stringify(added.data);
    const id = added.orderKey !== undefined
      ? await this.p.cmd<string>(['EVAL', ADD_ORDERED, '2', this.stream, this.orderList(added.orderKey), data, added.orderKey, String(ORDER_TTL_MS), readded ? '1' : '0'])
      : await this.p.cmd<string>(['XADD', this.stream, 'MAXLEN', '~', '100000', '*', 'data', data, ...(readded ? ['readded', '1'] : [])]);
    if (this.mine.size >= 100000) this.mine.delete(this.mine.keys().next().value as string);
    this.mine.set(id, added);
    return id;
  }

  private orderList(orderKey: string): string {
    return `${this.stream}:order:${orderKey}`;
  }

  /**
   * Redis came back empty. What this instance queued and nobody has reported done may be running
   * on another instance right now (it reports done when it finishes) or may be gone with the
   * stream: wait `claimAfterMs`, as for a dead instance's work, then add again what is still
   * unreported. Work running here finishes here.
   */
  private lost(): void {
    const ids = [...this.mine.keys()].filter((id) => !this.running.has(id) && !this.ackLater.has(id));
    if (!ids.length) return;
    const timer = setTimeout(() => {
      this.readdTimers.delete(timer);
      if (!this.closed) void this.readd(ids);
    }, this.claimAfterMs);
    timer.unref?.();
    this.readdTimers.add(timer);
  }

  private async readd(ids: string[]): Promise<void> {
    // done meanwhile, though the done message did not reach this instance (its subscription was
    // reconnecting when it was published): the done marks say so
    const candidates = ids.filter((id) => this.mine.has(id) && !this.running.has(id) && !this.ackLater.has(id));
    const done = new Set<string>();
    for (let i = 0; i < candidates.length; i += 500) {
      const chunk = candidates.slice(i, i + 500);
      try {
        const marks = await this.p.cmd<(string | null)[]>(['MGET', ...chunk.map((id) => this.doneKey(id))]);
        chunk.forEach((id, j) => { if (marks?.[j]) done.add(id); });
      } catch { /* cannot tell: add it again (a second run finds the customer) */ }
    }
    const lost: Added<T>[] = [];
    for (const id of candidates) {
      const added = this.mine.get(id);
      if (added === undefined || this.running.has(id) || this.ackLater.has(id)) continue;
      this.mine.delete(id);
      if (!done.has(id)) lost.push(added);
    }
    this.readdLater.push(...lost);
    this.flushReaddLater();
  }

  private flushReaddLater(): void {
    for (const added of this.readdLater.splice(0)) {
      // Redis went away again: kept, and added when it is back
      this.xadd(added, true).catch(() => { this.readdLater.push(added); });
    }
  }

  consume(handler: (item: WorkItem<T>) => Promise<void>): void {
    if (this.handler) throw new Error('consume() already called');
    this.handler = handler;
    this.listenDone();
    this.reader = this.p.dedicated();
    this.loop = this.run();
    // Work in progress (and handled work not yet acknowledged) stays claimed by this instance:
    // XCLAIM to itself resets the idle time, so no other instance takes it while this one lives.
    this.keepAlive = setInterval(() => {
      const ids = [...this.running.keys(), ...this.ackLater.keys()];
      if (!ids.length || !this.p.healthy) return;
      this.p.cmd(['XCLAIM', this.stream, this.group, this.consumer, '0', ...ids, 'JUSTID']).catch(() => undefined);
    }, Math.max(200, Math.floor(this.claimAfterMs / 3)));
    this.keepAlive.unref?.();
  }

  private async run(): Promise<void> {
    const reader = this.reader!;
    let lastClaim = 0;
    while (!this.closed) {
      try {
        if (!reader.isReady || !this.p.healthy) { await sleep(200, this.ac.signal); continue; }
        await this.ensureGroup();
        for (const [id, orderKey] of [...this.ackLater]) {
          await this.ack(id, orderKey);
          this.ackLater.delete(id);
        }
        if (Date.now() - lastClaim >= Math.min(this.claimAfterMs, 1000)) {
          lastClaim = Date.now();
          const claimed = await this.p.cmd<[string, StreamEntry[], string[]]>(['XAUTOCLAIM', this.stream, this.group, this.consumer, String(this.claimAfterMs), '0-0', 'COUNT', '50']);
          for (const e of claimed?.[1] ?? []) this.dispatch(e, true);
        }
        const res = await reader.sendCommand<unknown>(['XREADGROUP', 'GROUP', this.group, this.consumer, 'COUNT', '20', 'BLOCK', String(Math.min(1000, this.claimAfterMs)), 'STREAMS', this.stream, '>']);
        for (const e of streamEntries(res)) this.dispatch(e, false);
      } catch (err) {
        // the group is gone (Redis restarted without persistence): create it again, re-add our work
        if (/NOGROUP/.test((err as Error)?.message ?? '')) this.groupReady = undefined;
        if (!this.closed) await sleep(200, this.ac.signal);
      }
    }
  }

  private ack(id: string, orderKey?: string): Promise<unknown> {
    const keys = [this.stream, this.doneChannel, this.doneKey(id), ...(orderKey !== undefined ? [this.orderList(orderKey)] : [])];
    return this.p.cmd(['EVAL', ACK, String(keys.length), ...keys, this.group, id, String(this.claimAfterMs * 2 + 60000)]);
  }

  /**
   * Wait until `id` heads its order list: the items added before it with the same key are done, on
   * whichever instance ran them. Woken by the done report of the item ahead, asking Redis again
   * after TURN_RECHECK_MS at most (a report missed while the subscription reconnected). false when
   * the queue closes first: the item stays pending, and another instance takes it.
   */
  private async awaitTurn(id: string, orderKey: string): Promise<boolean> {
    while (!this.closed) {
      let head: unknown;
      try {
        head = await this.p.cmd<unknown>(['EVAL', ORDER_HEAD, '2', this.stream, this.orderList(orderKey), id]);
      } catch { /* Redis cannot be reached: ask again after the pause */ }
      if (head === 1) return true;
      await this.doneReport(typeof head === 'string' ? head : undefined, Math.min(this.claimAfterMs, TURN_RECHECK_MS));
    }
    return false;
  }

  /** Resolves on the done report of `id`, after `ms`, or on close. */
  private doneReport(id: string | undefined, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const waiters = id === undefined ? undefined : this.turnWaiters.get(id) ?? new Set<() => void>();
      const wake = (): void => {
        clearTimeout(timer);
        this.ac.signal.removeEventListener('abort', wake);
        if (id !== undefined && waiters?.delete(wake) && waiters.size === 0) this.turnWaiters.delete(id);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.ac.signal.addEventListener('abort', wake, { once: true });
      if (id !== undefined && waiters) {
        waiters.add(wake);
        this.turnWaiters.set(id, waiters);
      }
    });
  }

  private doneKey(id: string): string {
    return `${this.stream}:done:${id}`;
  }

  private dispatch([id, fields]: StreamEntry, claimed: boolean): void {
    if (this.running.has(id)) return;
    if (!fields) { // deleted entry: drop it from the pending list
      this.p.cmd(['XACK', this.stream, this.group, id]).catch(() => undefined);
      return;
    }
    let data: T;
    try {
      data = JSON.parse(fields[fields.indexOf('data') + 1]) as T;
    } catch {
      this.ack(id).catch(() => undefined);
      return;
    }
    const recovered = claimed || fields.includes('readded');
    const at = fields.indexOf('order');
    const orderKey = at >= 0 && at % 2 === 0 ? fields[at + 1] : undefined;
    const handler = this.handler!;
    const job: Promise<void> = (async () => {
      // closing while it waits for its turn: not run, not acknowledged (another instance takes it)
      if (orderKey !== undefined && !(await this.awaitTurn(id, orderKey))) return;
      await Promise.resolve().then(() => handler({ id, data, recovered })).catch(() => undefined);
      this.mine.delete(id);
      for (let i = 0; i < 3; i++) {
        try {
          await this.ack(id, orderKey);
          return;
        } catch { if (this.closed) break; await sleep(200, this.ac.signal); }
      }
      this.ackLater.set(id, orderKey); // acknowledged when Redis answers again; kept claimed meanwhile
    })().finally(() => { this.running.delete(id); });
    this.running.set(id, job);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.p.off('up', this.onUp);
    for (const t of this.readdTimers) clearTimeout(t);
    this.ac.abort();
    if (this.keepAlive) clearInterval(this.keepAlive);
    if (this.reader?.isOpen) this.reader.destroy(); // ends a blocked XREADGROUP
    await this.loop;
    // wait for running handlers, but not forever: one that never settles must not keep the
    // connections (and Node-RED's close) open; its item stays pending and is recovered elsewhere
    await drain(this.running, this.p.closeTimeoutMs);
    (await this.unlisten)?.();
    this.mine.clear();
    this.p.untrack(this, this.reader);
  }
}
