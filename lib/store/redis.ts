/**
 * The Redis implementations of lib/store/types.ts over node-redis (@redis/client). Raw commands
 * (sendCommand) keep the protocol visible: SET NX PX, Lua compare-and-delete, Streams with a
 * consumer group. Keys: `<prefix>{<scope>}:<kind>:<key>` — the hash tag keeps a scope on one
 * Redis Cluster slot. The password never appears in a log, error or event.
 */
import { EventEmitter, setMaxListeners } from 'node:events';
import { randomBytes, randomUUID } from 'node:crypto';
import { createClient } from '@redis/client';
import type {
  WaitResult,
  ClaimResult,
  DeliveryStore,
  LockHandle,
  LockOptions,
  Locks,
  SealedReply,
  SharedTokenStore,
  StoreProvider,
  WorkItem,
  WorkQueue,
} from './types';
import { backoffDelay, sleep } from '../util/backoff';
import { redact } from '../util/redact';
import { isStoreUnavailable, runLocked, StoreError } from './memory';

type Client = ReturnType<typeof createClient>;

export interface RedisStoreOptions {
  /** redis:// or rediss:// (TLS) */
  url: string;
  username?: string;
  password?: string;
  /** default `wechat-c4c:` */
  prefix?: string;
  /** how long a command may take before it fails with STORE_UNAVAILABLE (default 5000) */
  commandTimeoutMs?: number;
  /** how long a retry-key claim may take (default 1500, at most commandTimeoutMs) */
  claimTimeoutMs?: number;
  /** an instance whose heartbeat is older than this is dead: its claims can be taken over (default 3000) */
  aliveTtlMs?: number;
  /**
   * how long close() waits for running work-queue handlers before it lets go of the connections
   * anyway (default 10000); an item whose handler did not settle stays pending in the Stream and
   * another instance recovers it after `claimAfterMs`.
   */
  closeTimeoutMs?: number;
}

const DEL_IF = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";
const PEXPIRE_IF = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
/** token record is JSON; delete only if its token is still ARGV[1] */
const DEL_TOKEN_IF = "local v = redis.call('GET', KEYS[1]) if not v then return 0 end local ok, r = pcall(cjson.decode, v) if ok and r.token == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
/**
 * Claim a retry key: SET NX PX with this instance's id as the value. Taken already: the reply if
 * there is one; else, when the holder instance's heartbeat key is gone (the instance died with the
 * delivery in its flow), take the claim over so the follower is not lost. {1} first, {2} taken
 * over, {0, reply?} a retry.
 */
const CLAIM = "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1} end local r = redis.call('GET', KEYS[2]) if r then return {0, r} end local h = redis.call('GET', KEYS[1]) if h and h ~= ARGV[1] and redis.call('EXISTS', ARGV[3] .. h) == 0 then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return {2} end return {0}";
/**
 * XACK + XDEL, a done mark for the id (kept ARGV[3] ms: an instance that missed the PUBLISH — its
 * subscription was reconnecting — still finds it) + PUBLISH the id on the done channel; one round trip.
 */
const ACK = "redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) redis.call('XDEL', KEYS[1], ARGV[2]) redis.call('SET', KEYS[3], '1', 'PX', ARGV[3]) redis.call('PUBLISH', KEYS[2], ARGV[2]) return 1";
/** first write wins: SET NX the reply, publish the winner, return it */
const COMPLETE = "local ok = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) local v = redis.call('GET', KEYS[1]) if ok then redis.call('PUBLISH', KEYS[2], ARGV[3]) end return v";

/** How long lock takers and queue writers wait for a Redis that went away before they fail. */
const OUTAGE_WAIT_MS = 10000;

/** URL without its password, for logs. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid url)';
  }
}

/** A StoreError for a failed command or connection; URLs' passwords and the known secrets scrubbed. */
function unavailable(err: unknown, secrets: readonly (string | undefined)[] = []): StoreError {
  if (err instanceof StoreError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new StoreError('STORE_UNAVAILABLE', `Redis unavailable: ${redact(msg, secrets)}`);
}

export class RedisStoreProvider extends EventEmitter implements StoreProvider {
  readonly kind = 'redis' as const;
  readonly prefix: string;
  readonly instanceId = `${process.pid}-${randomUUID()}`;
  private readonly client: Client;
  private subscriber: Client | undefined;
  private readonly channelWaiters = new Map<string, Set<(key: string) => void>>();
  private readonly extraClients = new Set<Client>();
  private readonly opts: RedisStoreOptions;
  private readonly commandTimeoutMs: number;
  readonly closeTimeoutMs: number;
  private up = false;
  /** The credentials, scrubbed from every error this store raises. */
  private readonly secrets: (string | undefined)[];
  /** false until the first connection succeeded or failed: the first failure is reported as `down` too. */
  private settled = false;
  /** Commands in the first commandTimeoutMs wait for the first connection instead of failing. */
  private readonly createdAt = Date.now();
  /** Connections that were ready once: when they drop, commands fail at once. */
  private readonly everReady = new WeakSet<Client>();
  private closed = false;
  private readonly connecting: Promise<void>;
  private readonly closers = new Set<{ close(): Promise<void> }>();
  /** Scopes this instance claims deliveries in: each gets a heartbeat key while the instance lives. */
  private readonly aliveScopes = new Set<string>();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** Longest wait for a retry-key claim (the webhook must still answer within WeChat's 5 s). */
  readonly claimTimeoutMs: number;
  /** How long a heartbeat key outlives its last renewal (an instance is dead after this). */
  readonly aliveTtlMs: number;

  constructor(opts: RedisStoreOptions) {
    super();
    this.setMaxListeners(0); // one per config node and queue using this store
    this.opts = opts;
    this.secrets = [opts.password, opts.username];
    this.prefix = opts.prefix ?? 'wechat-c4c:';
    this.commandTimeoutMs = opts.commandTimeoutMs ?? 5000;
    this.closeTimeoutMs = opts.closeTimeoutMs ?? 10000;
    this.claimTimeoutMs = Math.min(this.commandTimeoutMs, opts.claimTimeoutMs ?? 1500);
    this.aliveTtlMs = opts.aliveTtlMs ?? 3000;
    this.client = this.newClient();
    this.client.on('ready', () => this.setUp(true));
    this.client.on('end', () => this.setUp(false));
    this.client.on('error', (err: Error) => this.setUp(false, err));
    this.connecting = this.client.connect().then(() => undefined, () => undefined);
  }

  private newClient(): Client {
    const c = createClient({
      url: this.opts.url,
      username: this.opts.username || undefined,
      password: this.opts.password || undefined,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: this.commandTimeoutMs,
        reconnectStrategy: (retries: number) => (this.closed ? false : Math.min(50 * 2 ** Math.min(retries, 4), 500)),
      },
    });
    (c as unknown as NodeJS.EventEmitter).setMaxListeners(0); // commands waiting for the first connection
    c.on('ready', () => this.everReady.add(c as Client));
    return c as Client;
  }

  /** A dedicated connection (blocking reads, subscriptions). */
  dedicated(): Client {
    const c = this.newClient();
    c.on('error', () => undefined);
    this.extraClients.add(c);
    c.connect().catch(() => undefined);
    return c;
  }

  aliveKeyPrefix(scope: string): string {
    return this.key(scope, 'alive', '');
  }

  /** Keep `<prefix>{scope}:alive:<instanceId>` alive while this instance runs (renewed every third of aliveTtlMs). */
  heartbeat(scope: string): void {
    if (this.aliveScopes.has(scope) || this.closed) return;
    this.aliveScopes.add(scope);
    this.beat();
    if (!this.heartbeatTimer) {
      this.heartbeatTimer = setInterval(() => this.beat(), Math.max(100, Math.floor(this.aliveTtlMs / 3)));
      this.heartbeatTimer.unref?.();
    }
  }

  private beat(): void {
    if (!this.client.isReady) return;
    for (const scope of this.aliveScopes) {
      this.cmd(['SET', this.aliveKeyPrefix(scope) + this.instanceId, '1', 'PX', String(this.aliveTtlMs)]).catch(() => undefined);
    }
  }

  private setUp(up: boolean, err?: Error): void {
    if (this.closed || (up === this.up && this.settled)) return;
    this.settled = true;
    this.up = up;
    if (up) this.beat();
    if (up) this.emit('up');
    else this.emit('down', err ? unavailable(err, this.secrets) : new StoreError('STORE_UNAVAILABLE', 'Redis connection lost'));
  }

  get healthy(): boolean {
    return this.up && this.client.isReady;
  }

  /** true as soon as Redis is reachable (now, or after an `up` within `ms`); false after `ms`. */
  whenUp(ms: number): Promise<boolean> {
    if (this.healthy) return Promise.resolve(true);
    if (this.closed || ms <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.off('up', on); resolve(this.healthy); }, ms);
      const on = (): void => { clearTimeout(t); resolve(true); };
      this.once('up', on);
    });
  }

  /** Resolves once the first connection attempt settled. */
  ready(): Promise<void> {
    return this.connecting;
  }

  key(scope: string, kind: string, key: string): string {
    return `${this.prefix}{${scope}}:${kind}:${key}`;
  }

  /** One command; STORE_UNAVAILABLE when it cannot run (no connection, timeout). */
  async cmd<T>(args: string[], client: Client = this.client, timeoutMs = this.commandTimeoutMs): Promise<T> {
    if (this.closed) throw new StoreError('STORE_UNAVAILABLE', 'store is closed');
    // Right after start (deploy) the first connection is still being made: wait for it, within the
    // command's time. Later, a lost connection fails at once (no offline queue).
    if (!client.isReady) {
      const startup = this.createdAt + this.commandTimeoutMs - Date.now();
      if (startup <= 0 || this.everReady.has(client) || !(await this.whenReady(client, Math.min(startup, timeoutMs)))) throw new StoreError('STORE_UNAVAILABLE', 'Redis is not connected');
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        client.sendCommand<T>(args),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new StoreError('STORE_UNAVAILABLE', `Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (err) {
      if ((err as { name?: string }).name === 'ErrorReply' || /^(ERR|WRONGTYPE|NOSCRIPT|BUSYGROUP|NOGROUP)/.test((err as Error).message ?? '')) throw err;
      throw unavailable(err, this.secrets);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /** true once `c` is ready; false after commandTimeoutMs (never waits longer). */
  private whenReady(c: Client, timeoutMs = this.commandTimeoutMs): Promise<boolean> {
    if (c.isReady) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => { c.off('ready', on); resolve(c.isReady); }, timeoutMs);
      function on(): void { clearTimeout(t); resolve(true); }
      c.once('ready', on);
    });
  }

  /** Subscribe `listener` to `channel` on the shared subscriber connection; returns unsubscribe. */
  async listen(channel: string, listener: (msg: string) => void): Promise<() => void> {
    if (!this.subscriber) {
      this.subscriber = this.dedicated();
    }
    const sub = this.subscriber;
    let set = this.channelWaiters.get(channel);
    if (!set && !(await this.whenReady(sub))) throw new StoreError('STORE_UNAVAILABLE', 'Redis subscription failed');
    set = this.channelWaiters.get(channel); // another caller may have subscribed meanwhile
    if (!set) {
      set = new Set();
      this.channelWaiters.set(channel, set);
      const s = set;
      try {
        await sub.subscribe(channel, (message: string) => { for (const l of [...s]) l(message); });
      } catch {
        this.channelWaiters.delete(channel);
        throw new StoreError('STORE_UNAVAILABLE', 'Redis subscription failed');
      }
    }
    set.add(listener);
    return () => {
      const cur = this.channelWaiters.get(channel);
      if (!cur) return;
      cur.delete(listener);
      if (cur.size === 0) {
        this.channelWaiters.delete(channel);
        if (sub.isOpen) sub.unsubscribe(channel).catch(() => undefined);
      }
    };
  }

  deliveries(scope: string): DeliveryStore {
    return this.track(new RedisDeliveryStore(this, scope));
  }

  locks(scope: string): Locks {
    return this.track(new RedisLocks(this, scope));
  }

  tokens<R extends { token: string }>(): SharedTokenStore<R> {
    return new RedisTokenStore<R>(this);
  }

  queue<T>(name: string, opts: { claimAfterMs: number; addWaitMs?: number }): WorkQueue<T> {
    return this.track(new RedisWorkQueue<T>(this, name, opts.claimAfterMs, opts.addWaitMs ?? 5000));
  }

  private track<C extends { close(): Promise<void> }>(c: C): C {
    this.closers.add(c);
    return c;
  }

  /**
   * What a delivery store, lock set or queue calls when it closes: the provider lives as long as
   * its Redis node, across redeploys of the nodes that use it, and must not keep what they made.
   */
  untrack(c: { close(): Promise<void> }, client?: Client): void {
    this.closers.delete(c);
    if (client) {
      this.extraClients.delete(client);
      try {
        if (client.isOpen) client.destroy();
      } catch { /* already closed */ }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.closers].map((c) => c.close().catch(() => undefined)));
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    // a clean stop is not a death: the claims it holds were answered (close flushes them)
    await Promise.all([...this.aliveScopes].map((s) => this.cmd(['DEL', this.aliveKeyPrefix(s) + this.instanceId], undefined, 1000).catch(() => undefined)));
    this.closed = true;
    const all = [this.client, ...this.extraClients];
    await Promise.all(all.map(async (c) => {
      try {
        if (c.isOpen) c.destroy();
      } catch { /* already closed */ }
    }));
  }
}

class RedisDeliveryStore implements DeliveryStore {
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

class RedisLocks implements Locks {
  private readonly handles = new Set<{ stop(): void }>();
  constructor(private readonly p: RedisStoreProvider, private readonly scope: string) {}

  async acquire(key: string, opts: LockOptions = {}): Promise<LockHandle> {
    const ttlMs = opts.ttlMs ?? 30000;
    const waitMs = opts.waitMs ?? ttlMs;
    const rkey = this.p.key(this.scope, 'lock', key);
    const value = randomBytes(16).toString('hex');
    const deadline = Date.now() + waitMs;
    // a Redis away for a moment (restart, failover) is waited out, within the wait and OUTAGE_WAIT_MS
    const outageUntil = Date.now() + Math.min(waitMs, OUTAGE_WAIT_MS);
    let attempt = 0;
    for (;;) {
      if (opts.signal?.aborted) throw new StoreError('ABORTED', `lock ${key}: aborted`);
      let ok: string | null;
      try {
        ok = await this.p.cmd<string | null>(['SET', rkey, value, 'NX', 'PX', String(ttlMs)]);
      } catch (err) {
        const left = outageUntil - Date.now();
        if (!isStoreUnavailable(err) || left <= 0 || this.p.healthy) throw err;
        if (!(await this.p.whenUp(left))) throw err;
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

class RedisTokenStore<R extends { token: string; expiresAt?: number }> implements SharedTokenStore<R> {
  constructor(private readonly p: RedisStoreProvider) {}
  private k(appId: string): string { return this.p.key(appId, 'token', 'access'); }

  async get(appId: string): Promise<R | undefined> {
    const v = await this.p.cmd<string | null>(['GET', this.k(appId)]);
    if (!v) return undefined;
    try {
      return JSON.parse(v) as R;
    } catch {
      return undefined; // a damaged record is no token (and its text, a token perhaps, goes into no error)
    }
  }

  async set(appId: string, record: R): Promise<void> {
    const ttl = typeof record.expiresAt === 'number' ? record.expiresAt - Date.now() : 7200 * 1000;
    if (ttl <= 0) return;
    await this.p.cmd(['SET', this.k(appId), JSON.stringify(record), 'PX', String(Math.ceil(ttl))]);
  }

  async delete(appId: string, ifToken: string): Promise<boolean> {
    return Number(await this.p.cmd<number>(['EVAL', DEL_TOKEN_IF, '1', this.k(appId), ifToken])) === 1;
  }
}

type StreamEntry = [string, string[] | null];

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

class RedisWorkQueue<T> implements WorkQueue<T> {
  private readonly stream: string;
  private readonly doneChannel: string;
  private readonly group = 'workers';
  private readonly consumer: string;
  private handler: ((item: WorkItem<T>) => Promise<void>) | undefined;
  private readonly running = new Map<string, Promise<void>>();
  /** Handled, but the XACK did not reach Redis: acknowledged when it is back (kept claimed meanwhile). */
  private readonly ackLater = new Set<string>();
  /**
   * What this instance added and nobody has reported done (the done channel) yet. If Redis loses
   * the stream (restarted without persistence), these are added again: the work is not lost.
   */
  private readonly mine = new Map<string, T>();
  /** The stream's epoch as this instance last saw it (see ensureGroup). */
  private epoch: string | undefined;
  private readonly epochKey: string;
  private readonly onUp = (): void => { this.groupReady = undefined; };
  private readonly readdTimers = new Set<NodeJS.Timeout>();
  private closed = false;
  private loop: Promise<void> | undefined;
  private readonly ac = new AbortController();
  private reader: Client | undefined;
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
    this.unlisten = this.p.listen(this.doneChannel, (id) => { this.mine.delete(id); }).catch(() => { this.unlisten = undefined; return undefined; });
  }

  async add(data: T): Promise<string> {
    if (this.closed) throw new StoreError('STORE_UNAVAILABLE', 'work queue is closed');
    // Redis away for a moment (a restart, a failover): wait for it rather than fail the work at once
    if (!this.p.healthy && !(await this.p.whenUp(this.addWaitMs))) throw new StoreError('STORE_UNAVAILABLE', `Redis not reachable within ${this.addWaitMs} ms`);
    this.listenDone();
    await this.ensureGroup();
    const id = await this.xadd(data, false);
    return id;
  }

  private async xadd(data: T, readded: boolean): Promise<string> {
    const id = await this.p.cmd<string>(['XADD', this.stream, 'MAXLEN', '~', '100000', '*', 'data', JSON.stringify(data), ...(readded ? ['readded', '1'] : [])]);
    if (this.mine.size >= 100000) this.mine.delete(this.mine.keys().next().value as string);
    this.mine.set(id, data);
    return id;
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
    const lost: T[] = [];
    for (const id of candidates) {
      const data = this.mine.get(id);
      if (data === undefined || this.running.has(id) || this.ackLater.has(id)) continue;
      this.mine.delete(id);
      if (!done.has(id)) lost.push(data);
    }
    for (const data of lost) {
      this.xadd(data, true).catch(() => {
        // Redis went away again: keep it for the next time the stream is found lost
        this.mine.set(`lost-${randomUUID()}`, data);
      });
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
      const ids = [...this.running.keys(), ...this.ackLater];
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
        for (const id of [...this.ackLater]) {
          await this.ack(id);
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

  private ack(id: string): Promise<unknown> {
    return this.p.cmd(['EVAL', ACK, '3', this.stream, this.doneChannel, this.doneKey(id), this.group, id, String(this.claimAfterMs * 2 + 60000)]);
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
    const handler = this.handler!;
    const job: Promise<void> = Promise.resolve()
      .then(() => handler({ id, data, recovered }))
      .catch(() => undefined)
      .then(async () => {
        this.mine.delete(id);
        for (let i = 0; i < 3; i++) {
          try {
            await this.ack(id);
            return;
          } catch { if (this.closed) break; await sleep(200, this.ac.signal); }
        }
        this.ackLater.add(id); // acknowledged when Redis answers again; kept claimed meanwhile
      })
      .finally(() => { this.running.delete(id); });
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
    const until = Date.now() + this.p.closeTimeoutMs;
    while (this.running.size && Date.now() < until) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all([...this.running.values()]),
        new Promise<void>((r) => { timer = setTimeout(r, Math.max(1, until - Date.now())); }),
      ]);
      clearTimeout(timer);
    }
    (await this.unlisten)?.();
    this.mine.clear();
    this.p.untrack(this, this.reader);
  }
}
